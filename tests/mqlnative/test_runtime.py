"""The mqlnative runtime (issue 11 section 4): a small MQL program built through the translator
and the runtime as a shared library, loaded with ctypes and served by a fake Python host.
Checks the host-call marshalling (by-reference outputs, structs, errors, UTF-8), inputs, the
native files, CTrade over OrderSend (netting and hedging), OnTradeTransaction, critical errors
and ExpertRemove, and a real libzmq round trip with CURVE over tcp loopback, on both branches
(MQL4's 64-bit build maps int handles to pointers)."""

from __future__ import annotations

import ctypes
import datetime
import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import msgpack
import pytest
import zmq

from mqlnative.build import build

ROOT = Path(__file__).resolve().parents[1].parent
PROBE = Path(__file__).resolve().parent / "probe" / "Experts" / "MqlnRuntimeProbe.mql"
INCLUDE = ROOT / "mqlnative" / "include" / "mql"
HOST_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t,
                           ctypes.POINTER(ctypes.c_size_t))
_copies = itertools.count(1)


def header_value(name: str, branch: str = "mql5") -> int:
    """A constant as the branch's api headers define it (`NAME = value,` or `const int NAME = value;`)."""
    for header in (INCLUDE / "api_common.hpp", INCLUDE / "api_files.hpp", INCLUDE / f"api_{branch}.hpp"):
        found = re.search(rf"\b{name}\s*=\s*(-?\d+)\s*[,;]", header.read_text(encoding="utf-8"))
        if found:
            return int(found.group(1))
    raise KeyError(name)


@pytest.fixture(scope="module", params=["mql4", "mql5"])
def library(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(f"probe-{request.param}")
    # -fno-gnu-unique: inline state (the core's input registry, log hook) stays per loaded copy
    # MQLN_RUNTIME_SANITIZE=1 builds with ASan/UBSan; run python with LD_PRELOAD=libasan (docs/mql-runtime.md)
    sanitize = os.environ.get("MQLN_RUNTIME_SANITIZE") == "1"
    result = build(PROBE, request.param, "shared", sanitize=sanitize, out_root=out, source_root=ROOT,
                   extra_flags=("-fno-gnu-unique",))
    assert result.ok, result.log
    return request.param, result.output


class FakeHost:
    """Serves host calls from `handlers` (fn -> callable(args) -> reply map); records every call."""

    def __init__(self, library: tuple[str, Path], workdir: Path, handlers: dict[str, Callable[[list], dict]]) -> None:
        self.branch, so = library
        self.calls: list[tuple[str, list]] = []
        self.printed: list[str] = []
        self.handlers = {"Print": self._print, **handlers}
        self.files = workdir / "MQL" / "Files"
        self.files.mkdir(parents=True)
        copy = workdir / f"probe-{next(_copies)}.so"   # one copy per EA instance: fresh statics
        shutil.copyfile(so, copy)
        self.lib = ctypes.CDLL(str(copy), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        self._callback = HOST_FN(self._host)
        self._reply = ctypes.create_string_buffer(1)
        self.lib.mqln_set_host.argtypes = [HOST_FN]
        self.lib.mqln_set_input.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        self.lib.mqln_set_files_dir.argtypes = [ctypes.c_char_p]
        self.lib.mqln_OnDeinit.argtypes = [ctypes.c_int]
        self.lib.mqln_OnTradeTransaction.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        self.lib.mqln_has.argtypes = [ctypes.c_char_p]
        self.lib.mqln_set_host(self._callback)
        self.lib.mqln_set_files_dir(str(self.files).encode())

    def _print(self, args: list) -> dict:
        self.printed.append(args[0])
        return {}

    def _host(self, fn, args, n, out_n):
        name = fn.decode()
        decoded = msgpack.unpackb(ctypes.string_at(args, n), raw=False, strict_map_key=False)
        self.calls.append((name, decoded))
        handler = self.handlers.get(name)
        reply = msgpack.packb(handler(decoded) if handler else {"r": None})
        self._reply = ctypes.create_string_buffer(reply, len(reply))
        out_n[0] = len(reply)
        return ctypes.addressof(self._reply)

    def set_input(self, name: str, value: Any) -> int:
        packed = msgpack.packb(value)
        return self.lib.mqln_set_input(name.encode(), packed, len(packed))

    def run_case(self, case: int) -> list[str]:
        self.handlers["GlobalVariableGet"] = self._case(case, self.handlers.get("GlobalVariableGet"))
        before = len(self.printed)
        self.lib.mqln_OnTick()
        return self.printed[before:]

    @staticmethod
    def _case(case: int, fallback):
        def answer(args: list) -> dict:
            if args[0] == "probe.case":
                return {"r": float(case)}
            return fallback(args) if fallback else {"r": 0.0}
        return answer

    def sent(self, fn: str) -> list[list]:
        return [args for name, args in self.calls if name == fn]


def test_entry_points_report_the_handlers_and_inputs_reach_oninit(library, tmp_path) -> None:
    host = FakeHost(library, tmp_path, {})
    assert host.lib.mqln_has(b"OnInit") == 1 and host.lib.mqln_has(b"OnTick") == 1
    assert host.lib.mqln_has(b"OnTimer") == 0
    assert host.lib.mqln_has(b"OnTradeTransaction") == (1 if host.branch == "mql5" else 0)
    assert host.set_input("InpName", "Zürich") == 0
    assert host.set_input("InpCount", 7) == 0
    assert host.set_input("InpRatio", 0.25) == 0
    assert host.set_input("InpFlag", True) == 0
    assert host.set_input("InpCount", 1.5) == -1      # a double for an int input: refused, unchanged
    assert host.set_input("InpName", 7) == -1
    assert host.set_input("InpMissing", 1) == -1
    assert host.lib.mqln_OnInit() == header_value("INIT_SUCCEEDED")
    assert host.printed == ["init Zürich 7 0.25 true"]
    host.lib.mqln_OnDeinit(header_value("REASON_REMOVE"))
    assert host.printed[-1] == f"deinit {header_value('REASON_REMOVE')}"


def test_two_instances_keep_their_own_inputs_log_and_state(library, tmp_path) -> None:
    first = FakeHost(library, tmp_path / "a", {})
    second = FakeHost(library, tmp_path / "b", {})
    assert first.set_input("InpName", "first") == 0
    assert second.set_input("InpName", "second") == 0
    assert first.lib.mqln_OnInit() == second.lib.mqln_OnInit() == header_value("INIT_SUCCEEDED")
    assert first.printed == ["init first 3 0.50 false"]
    assert second.printed == ["init second 3 0.50 false"]
    assert second.run_case(6) and second.lib.mqln_stopped() == 1     # a critical error in one instance
    assert first.lib.mqln_stopped() == 0


def test_by_reference_outputs_errors_and_utf8_strings(library, tmp_path) -> None:
    branch = library[0]
    not_found = header_value("ERR_GLOBALVARIABLE_NOT_FOUND" if branch == "mql5" else "ERR_GLOBAL_VARIABLE_NOT_FOUND",
                             branch)
    host = FakeHost(library, tmp_path, {
        # the value form (also MQL4's Bid/Ask refresh before each event) and the by-reference form
        "SymbolInfoDouble": lambda a: {"r": True, "out": {2: 1.08765}} if len(a) == 3 else {"r": 1.08765},
        "SymbolInfoInteger": lambda a: {"r": 5},
        "AccountInfoString": lambda a: {"r": "€UR"},
        "GlobalVariableGet": lambda a: {"r": 0.0, "err": not_found},
    })
    assert host.run_case(1) == [f"refs true 1.08765 5 €UR 0.0 {not_found}"]
    (ref_call,) = [args for args in host.sent("SymbolInfoDouble") if len(args) == 3]
    assert ref_call == ["EURUSD", header_value("SYMBOL_BID"), 0.0]   # the variable travels too
    assert host.sent("AccountInfoString") == [[header_value("ACCOUNT_CURRENCY")]]


def test_files_live_in_the_terminal_folder_with_mql_semantics(library, tmp_path) -> None:
    host = FakeHost(library, tmp_path, {})
    (host.files / "MtBridge").mkdir()
    (host.files / "MtBridge" / "k.bin").write_bytes(b"old")
    branch = library[0]
    e = (lambda n5, n4: header_value(n5 if branch == "mql5" else n4, branch))
    rewrite, name, cannot_open = (e("ERR_FILE_CANNOT_REWRITE", "ERR_FILE_CANNOT_REWRITE"),
                                  e("ERR_WRONG_FILENAME", "ERR_FILE_WRONG_FILENAME"),
                                  e("ERR_CANNOT_OPEN_FILE", "ERR_FILE_CANNOT_OPEN"))
    assert host.run_case(2) == [f"files true 3 3 250 true 3 false {rewrite} true true -1 {name} -1 {cannot_open}"]
    assert (host.files / "MtBridge" / "k.bin").read_bytes() == bytes([1, 2, 250])   # replaced by FileMove
    assert (host.files / "MtBridge" / "sub").is_dir() and not (host.files / "MtBridge" / "sub" / "j.bin").exists()
    assert not (tmp_path / "MQL" / "escape.bin").exists()
    assert not [name for name, _ in host.calls if name.startswith("File")]   # files are native, not host calls


def test_typed_values_and_strings_in_files(library, tmp_path) -> None:
    host = FakeHost(library, tmp_path, {})
    assert host.run_case(10) == ["typed 2 2 8 14 false -2 é€ 2.5 0 [first line] [second] true"]
    assert (host.files / "typed.bin").read_bytes() == b""
    assert not (host.files / "lines.txt").exists()


def test_libzmq_round_trip_with_curve_over_loopback(library, tmp_path) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = server_secret
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1")
    received: list[bytes] = []

    def echo() -> None:
        if router.poll(20000):
            identity, payload = router.recv_multipart()
            received.append(payload)
            router.send_multipart([identity, b"pong " + payload])

    thread = threading.Thread(target=echo)
    thread.start()
    try:
        host = FakeHost(library, tmp_path, {})
        assert host.set_input("InpEndpoint", f"tcp://127.0.0.1:{port}") == 0
        assert host.set_input("InpServerKey", server_public.decode()) == 0
        assert host.set_input("InpPublicKey", client_public.decode()) == 0
        assert host.set_input("InpSecretKey", client_secret.decode()) == 0
        (line,) = host.run_case(3)
    finally:
        thread.join(30)
        router.close()
        ctx.term()
    assert received == ["ping é".encode()]
    fields = line.split(" ")
    handle = int(fields[1])
    assert fields[2:] == ["true", "true", "0", str(len("ping é".encode())), str(len("pong ping é".encode())), "0",
                          "false", "pong", "ping", "é", "0"]
    if library[0] == "mql4":
        assert 1 <= handle <= 8        # an int handle from the table, not a truncated pointer
    else:
        assert handle > 0xFFFF          # the context pointer itself


def test_critical_error_stops_the_program_without_killing_the_host(library, tmp_path) -> None:
    host = FakeHost(library, tmp_path, {})
    printed = host.run_case(6)
    assert "not reached" not in printed
    assert any("array out of range" in line for line in printed)
    assert host.lib.mqln_stopped() == 1
    assert host.run_case(8) == []                       # no handler runs after a critical error
    host.lib.mqln_OnDeinit(0)
    assert not any(line.startswith("deinit") for line in host.printed)


def test_expert_remove_stops_events_but_deinit_still_runs(library, tmp_path) -> None:
    host = FakeHost(library, tmp_path, {"TimeCurrent": lambda a: {"r": 1764547200}})
    assert host.lib.mqln_stopped() == 0
    assert host.run_case(8) == ["time 1764547200"]
    assert host.run_case(7) == ["removed true"]
    assert [name for name, _ in host.calls].count("ExpertRemove") == 1
    assert host.lib.mqln_stopped() == 1
    assert host.run_case(8) == []
    host.lib.mqln_OnDeinit(header_value("REASON_REMOVE"))
    assert host.printed[-1] == f"deinit {header_value('REASON_REMOVE')}"


@pytest.mark.parametrize("now, other", [(1764547200, 1709251199), (86399, -1), (4102444800, 951782400)])
def test_time_structs_from_the_host_clock(library, tmp_path, now: int, other: int) -> None:
    host = FakeHost(library, tmp_path, {
        "TimeCurrent": lambda a: {"r": now},
        "GlobalVariableGet": lambda a: {"r": float(other)},
    })

    def fields(t: int) -> str:
        d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=t)
        weekday = (d.weekday() + 1) % 7                       # MQL: 0 = Sunday
        return f"{d.year} {d.month} {d.day} {d.hour} {d.minute} {d.second} {weekday} {d.timetuple().tm_yday - 1}"

    assert host.run_case(9) == [f"date {fields(now)} | {fields(other)} | {now} {other}"]


def test_global_destructors_at_process_exit_do_not_call_the_finalised_host(library, tmp_path) -> None:
    """At exit Python is gone before the program's globals are destroyed: their host calls answer nil."""
    script = (
        "import importlib.util, sys, pathlib\n"
        f"spec = importlib.util.spec_from_file_location('probe_host', {str(Path(__file__))!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"host = m.FakeHost(({library[0]!r}, pathlib.Path({str(library[1])!r})), pathlib.Path({str(tmp_path)!r}), {{}})\n"
        "print(host.run_case(11), flush=True)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines() == ["['armed']", "farewell 0.0"]


def test_a_host_answer_that_is_not_msgpack_stops_the_program(library, tmp_path) -> None:
    host = FakeHost(library, tmp_path, {})
    host.handlers["TimeCurrent"] = lambda a: [1, 2]      # a list, not the {"r": ...} map
    assert host.run_case(8) == []
    assert host.lib.mqln_stopped() == 1


def _mql5_only(library) -> None:
    if library[0] != "mql5":
        pytest.skip("MQL5 trade structures and CTrade")


def test_order_send_marshals_the_request_and_reads_the_result_back(library, tmp_path) -> None:
    _mql5_only(library)
    host = FakeHost(library, tmp_path, {"OrderSend": lambda a: {"r": True, "out": {
        1: {"retcode": 10009, "deal": 2**63 + 5, "order": 11, "price": 1.2345, "comment": "done é"}}}})
    assert host.run_case(4) == [f"send true 10009 {2**63 + 5} 11 1.23450 done é"]
    (request, result) = host.sent("OrderSend")[0]
    assert request["action"] == header_value("TRADE_ACTION_DEAL")
    assert request["type"] == header_value("ORDER_TYPE_SELL")
    assert (request["symbol"], request["volume"], request["comment"]) == ("EURUSD", 0.1, "tag é")
    assert request["magic"] == 2**64 - 1                 # ulong magic, unsigned on the wire
    assert result["retcode"] == 0 and set(result) >= {"deal", "order", "price", "comment", "retcode_external"}


def _position_host(library, tmp_path, margin_mode: str) -> FakeHost:
    integer = {header_value("POSITION_TYPE"): header_value("POSITION_TYPE_BUY")}
    symbol_int = {header_value("SYMBOL_TRADE_EXEMODE"): header_value("SYMBOL_TRADE_EXECUTION_MARKET"),
                  header_value("SYMBOL_FILLING_MODE"): header_value("SYMBOL_FILLING_IOC")}
    return FakeHost(library, tmp_path, {
        "AccountInfoInteger": lambda a: {"r": header_value(margin_mode)},
        "PositionSelectByTicket": lambda a: {"r": a[0] == 5},
        "PositionGetString": lambda a: {"r": "EURUSD"},
        "PositionGetInteger": lambda a: {"r": integer.get(a[0], 0)},
        "PositionGetDouble": lambda a: {"r": 0.1},
        "SymbolInfoDouble": lambda a: {"r": 1.1},
        "SymbolInfoInteger": lambda a: {"r": symbol_int.get(a[1], 0)},
        "OrderSend": lambda a: {"r": True, "out": {1: {"retcode": 10009}}},
    })


def test_ctrade_partial_close_fails_on_netting_without_a_request(library, tmp_path) -> None:
    _mql5_only(library)
    host = _position_host(library, tmp_path, "ACCOUNT_MARGIN_MODE_RETAIL_NETTING")
    assert host.run_case(5) == ["partial false 0"]
    assert host.sent("OrderSend") == []


def test_ctrade_partial_close_on_hedging_sends_the_opposite_deal(library, tmp_path) -> None:
    _mql5_only(library)
    host = _position_host(library, tmp_path, "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING")
    assert host.run_case(5) == ["partial true 10009"]
    (request, _result) = host.sent("OrderSend")[0]
    assert request["action"] == header_value("TRADE_ACTION_DEAL")
    assert request["type"] == header_value("ORDER_TYPE_SELL")             # closes a buy
    assert request["type_filling"] == header_value("ORDER_FILLING_IOC")   # Market execution: the symbol's filling
    assert (request["position"], request["volume"], request["magic"], request["deviation"]) == (5, 0.05, 77, 5)
    assert request["price"] == 1.1


def test_trade_transactions_arrive_as_structs(library, tmp_path) -> None:
    _mql5_only(library)
    host = FakeHost(library, tmp_path, {})
    packed = msgpack.packb([
        {"type": header_value("TRADE_TRANSACTION_POSITION"), "position": 2**40, "price_sl": 1.05, "symbol": "XAUUSD"},
        {"action": header_value("TRADE_ACTION_SLTP")},
        {"retcode": 10009},
    ])
    host.lib.mqln_OnTradeTransaction(packed, len(packed))
    assert host.printed == [f"trans {header_value('TRADE_TRANSACTION_POSITION')} {2**40} 1.05000 XAUUSD "
                            f"{header_value('TRADE_ACTION_SLTP')} 10009"]
