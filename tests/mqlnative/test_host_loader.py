"""`LoadedEA` with a stand-in EA: a few lines of C++ exporting the runtime ABI
(tests/mqlnative/data/host_stub_ea.cpp), so the ctypes side is tested without the MQL toolchain
beyond g++: host calls answered from the terminal model, unknown inputs refused, host failures
raised after the handler, and libraries with process-wide (GNU unique) state refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mqlnative.host import ManualClock, Mt5Program, Mt5Terminal
from mqlnative.host.constants import Constants
from mqlnative.host.loader import HostFailure, LoadedEA
from simulator.server import TradeServer

STUB = Path(__file__).parent / "data" / "host_stub_ea.cpp"
MASTER, INVESTOR = "yS22Fr45", "Inv12345"

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ missing (scripts/install-mql-toolchain.sh)")


def _compile(source: str, out: Path, *flags: str) -> Path:
    src = out.with_suffix(".cpp")
    src.write_text(source)
    subprocess.run(["g++", "-std=c++17", "-shared", "-fPIC", "-O0", *flags, str(src), "-o", str(out)], check=True)
    return out


def _program(tmp: Path) -> Mt5Program:
    server = TradeServer(seed=1, start_ms=1704103200000, scrypt_n=2**4)
    server.register_client("a@example.com", "A")
    login = server.open_account("a@example.com", "mt5_standard", "USD", 100, master_password=MASTER,
                                investor_password=INVESTOR)
    term = Mt5Terminal(server, login, MASTER, clock=ManualClock(1704103200000), files_dir=tmp / "MQL5" / "Files")
    return Mt5Program(term, "Stub")


def _constants(tmp: Path) -> Constants:
    p = tmp / "api_mql5.hpp"
    p.write_text("enum ENUM_ACCOUNT_INFO_INTEGER { ACCOUNT_LOGIN = 0, ACCOUNT_LEVERAGE = 35 };")
    return Constants.from_headers([p])


def test_stub_ea_runs_against_the_terminal_model(tmp_path: Path) -> None:
    lib = _compile(STUB.read_text(), tmp_path / "stub.so")
    program = _program(tmp_path)
    ea = LoadedEA(lib, program, _constants(tmp_path), tmp_path / "copies", inputs={"InpX": 5})
    assert ea.path != lib and ea.path.exists()  # its own copy of the library
    assert ea.on_init() == 0
    assert ea.dispatcher.calls == 1 and ea.dispatcher.failures == []
    with pytest.raises(HostFailure, match="NoSuchFunction"):
        ea.on_timer()
    with pytest.raises(ValueError, match="InpY"):
        LoadedEA(lib, _program(tmp_path / "b"), _constants(tmp_path), tmp_path / "copies", inputs={"InpY": 1})


def test_libraries_with_process_wide_state_are_refused(tmp_path: Path) -> None:
    source = 'inline int shared_counter = 0;\nextern "C" int bump() { return ++shared_counter; }\n'
    lib = _compile(source, tmp_path / "unique.so")
    with pytest.raises(ValueError, match="GNU_UNIQUE.*shared_counter"):
        LoadedEA(lib, _program(tmp_path), _constants(tmp_path), tmp_path / "copies")
    fixed = _compile(source, tmp_path / "fixed.so", "-fno-gnu-unique")
    from mqlnative.host.loader import unique_symbols
    assert unique_symbols(fixed) == []
