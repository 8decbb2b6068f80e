"""Load a built EA shared library and run its handlers against a terminal model.

Each EA instance is its own copy of the .so (dlopen of one path shares the statics, and a
restarted EA must start with fresh ones, as MetaTrader reloads a program), loaded with
RTLD_LOCAL. The host callback serves the runtime's calls through a `Dispatcher`; the reply
buffer stays alive until the next call (the ABI's promise). Copies are not dlclose'd: the
runtime may leave libzmq's threads behind; a run loads a bounded number of them.

    ea = LoadedEA(so_path, program, constants, workdir, inputs={"InpEndpoint": "tcp://..."})
    ea.on_init() -> int ; ea.on_timer() ; ea.deliver_transactions() ; ea.on_deinit(reason)
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from mqlnative.host.constants import Constants
from mqlnative.host.dispatch import Dispatcher

HOST_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t,
                           ctypes.POINTER(ctypes.c_size_t))
_copies = itertools.count(1)

REASON_PROGRAM = 0  # ENUM_DEINIT_REASON values (MQL5 Reference, "Uninitialization Reason Codes")
REASON_REMOVE = 1
REASON_CLOSE = 9


def unique_symbols(path: Path) -> list[str]:
    """The library's STB_GNU_UNIQUE symbols: glibc binds them process-wide even under
    RTLD_LOCAL, so two EAs would share that state (inputs, _LastError, ...)."""
    nm = shutil.which("nm")
    if nm is None:
        return []
    out = subprocess.run([nm, "-D", "--defined-only", str(path)], capture_output=True, text=True, timeout=60)
    return [line.split()[-1] for line in out.stdout.splitlines() if len(line.split()) == 3 and line.split()[1] == "u"]


class HostFailure(RuntimeError):
    """The host could not serve a call (an unmodelled function, a bug): the run is invalid."""


class LoadedEA:
    def __init__(self, so_path: Path, program, constants: Constants, workdir: Path,
                 inputs: dict[str, Any] | None = None) -> None:
        self.program = program
        self.dispatcher = Dispatcher(program, constants, program.terminal.platform)
        shared = unique_symbols(Path(so_path))
        if shared:
            raise ValueError(f"{so_path}: {len(shared)} STB_GNU_UNIQUE symbols (e.g. {', '.join(shared[:3])}) would be "
                             "shared by every EA in the process; build it with -fno-gnu-unique")
        workdir.mkdir(parents=True, exist_ok=True)
        self.path = workdir / f"{Path(so_path).stem}-{os.getpid()}-{next(_copies)}.so"
        shutil.copyfile(so_path, self.path)
        self.lib = ctypes.CDLL(str(self.path), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        self._reply = ctypes.create_string_buffer(1)
        self._callback = HOST_FN(self._host)  # kept: the runtime holds the pointer
        lib = self.lib
        lib.mqln_set_host.argtypes = [HOST_FN]
        lib.mqln_set_input.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.mqln_set_files_dir.argtypes = [ctypes.c_char_p]
        lib.mqln_OnInit.restype = ctypes.c_int
        lib.mqln_OnDeinit.argtypes = [ctypes.c_int]
        lib.mqln_OnTradeTransaction.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.mqln_has.argtypes = [ctypes.c_char_p]
        lib.mqln_set_host(self._callback)
        lib.mqln_set_files_dir(str(program.terminal.files_dir).encode())
        for name, value in (inputs or {}).items():
            packed = self.dispatcher.pack(value)
            if lib.mqln_set_input(name.encode(), packed, len(packed)) != 0:
                raise ValueError(f"{self.path.name}: input {name} = {value!r} is unknown or of the wrong type")

    def _host(self, fn, args, n, out_n):
        payload = ctypes.string_at(args, n) if n else b""
        reply = self.dispatcher.handle(fn.decode(), payload)
        self._reply = ctypes.create_string_buffer(reply, len(reply))
        out_n[0] = len(reply)
        return ctypes.addressof(self._reply)

    def _check(self) -> None:
        if self.dispatcher.failures:
            raise HostFailure("\n".join(self.dispatcher.failures))

    def has(self, handler: str) -> bool:
        return bool(self.lib.mqln_has(handler.encode()))

    def stopped(self) -> bool:
        return bool(self.lib.mqln_stopped()) or self.program.removed

    def on_init(self) -> int:
        r = self.lib.mqln_OnInit() if self.has("OnInit") else 0
        self._check()
        return r

    def on_deinit(self, reason: int = REASON_REMOVE) -> None:
        self.program.deinit_reason = reason
        if self.has("OnDeinit"):
            self.lib.mqln_OnDeinit(reason)
        self.program.terminal.detach(self.program)
        self._check()

    def on_timer(self) -> None:
        self.lib.mqln_OnTimer()
        self._check()

    def deliver_transactions(self) -> int:
        """OnTradeTransaction for every queued transaction (MT5 programs)."""
        take = getattr(self.program, "take_transactions", None)
        if take is None:
            return 0
        items = take()
        if not self.has("OnTradeTransaction"):
            return 0
        for trans, request, result in items:
            packed = self.dispatcher.pack([trans, request, result])
            self.lib.mqln_OnTradeTransaction(packed, len(packed))
            self._check()
        return len(items)
