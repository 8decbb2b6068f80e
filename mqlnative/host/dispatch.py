"""Host calls: msgpack in, a model method, msgpack out (docs/mql-e2e.md, the runtime ABI).

The runtime calls `host(fn, args)` with `args` the msgpack array of the MQL arguments; the
reply is the msgpack map `{"r": return value, "out": {index: new value of a by-reference
argument}, "err": last error}` ("err" only when the call failed). Enum arguments arrive as
the header's integers and are handed to the models as MQL names (`ARG_ENUMS`,
`STRUCT_ENUMS`); an `Enum` the models return goes out as the header's integer.

A failure inside the host (an unknown function, a bug) must not vanish inside a ctypes
callback: it is recorded in `failures` (the driver raises it after the EA's handler returns)
and answered with `r = nil` and ERR_INTERNAL_ERROR (4001), as MQL5 names an internal error.
"""

from __future__ import annotations

import traceback
from decimal import Decimal
from typing import Any

import msgpack

from mqlnative.host.constants import Constants
from mqlnative.host.terminal import Enum, Out

ERR_INTERNAL_ERROR = 4001
FAILURES_KEPT = 100


class _E:
    """An enum argument: the members of a header enum."""

    def __init__(self, enum: str) -> None:
        self.enum = enum


class _N:
    """An enum argument given by a list of names (MQL4 #define-style constants)."""

    def __init__(self, *names: str) -> None:
        self.names = names


_PROPS = {
    "AccountInfo": (0, "ENUM_ACCOUNT_INFO_"), "TerminalInfo": (0, "ENUM_TERMINAL_INFO_"),
    "MQLInfo": (0, "ENUM_MQL_INFO_"), "SymbolInfo": (1, "ENUM_SYMBOL_INFO_"),
    "PositionGet": (0, "ENUM_POSITION_PROPERTY_"), "OrderGet": (0, "ENUM_ORDER_PROPERTY_"),
    "HistoryDealGet": (1, "ENUM_DEAL_PROPERTY_"), "HistoryOrderGet": (1, "ENUM_ORDER_PROPERTY_"),
}
ARG_ENUMS: dict[str, dict[int, Any]] = {
    f"{fn}{kind}": {index: _E(f"{enum}{kind.upper()}")}
    for fn, (index, enum) in _PROPS.items() for kind in ("Integer", "Double", "String")
}
ARG_ENUMS["OrderCalcMargin"] = ARG_ENUMS["OrderCalcProfit"] = {0: _E("ENUM_ORDER_TYPE")}
MQL4_ARG_ENUMS: dict[str, dict[int, Any]] = {
    "OrderSelect": {1: _N("SELECT_BY_POS", "SELECT_BY_TICKET"), 2: _N("MODE_TRADES", "MODE_HISTORY")},
    "MarketInfo": {1: _N("MODE_LOW", "MODE_HIGH", "MODE_TIME", "MODE_BID", "MODE_ASK", "MODE_POINT", "MODE_DIGITS",
                         "MODE_SPREAD", "MODE_STOPLEVEL", "MODE_LOTSIZE", "MODE_TICKVALUE", "MODE_TICKSIZE",
                         "MODE_SWAPLONG", "MODE_SWAPSHORT", "MODE_TRADEALLOWED", "MODE_MINLOT", "MODE_LOTSTEP",
                         "MODE_MAXLOT", "MODE_FREEZELEVEL")},
}
REF_OVERLOADS = {f"{fn}{kind}": index + 1 for fn, (index, _) in _PROPS.items() if fn not in ("AccountInfo", "TerminalInfo",
                                                                                          "MQLInfo")
                 for kind in ("Integer", "Double", "String")}
"""Getters with a `bool F(..., T &var)` overload: the number of arguments of the value form
(the runtime sends the variable as one more argument and reads it back from "out")."""
STRUCT_ENUMS = {"action": "ENUM_TRADE_REQUEST_ACTIONS", "type": "ENUM_ORDER_TYPE",
                "type_filling": "ENUM_ORDER_TYPE_FILLING", "type_time": "ENUM_ORDER_TYPE_TIME"}
"""MqlTradeRequest fields that are enums (OrderSend / OrderCheck argument 0)."""


class Dispatcher:
    def __init__(self, program, constants: Constants, platform: str) -> None:
        self.program = program
        self.constants = constants
        self.table = dict(ARG_ENUMS)
        if platform == "MT4":
            self.table.update(MQL4_ARG_ENUMS)
        self._reverse: dict[int, dict[int, str]] = {}
        self.failures: list[str] = []
        self.calls = 0

    # --- enum conversions
    def _names_of(self, spec) -> dict[int, str]:
        key = id(spec)
        r = self._reverse.get(key)
        if r is None:
            if isinstance(spec, _E):
                members = self.constants.enums.get(spec.enum)
                if members is None:
                    raise LookupError(f"the headers define no enum {spec.enum}")
            else:
                members = spec.names
            r = self._reverse[key] = self.constants.reverse(members)
        return r

    def _enum_by_type(self, enum: str) -> dict[int, str]:
        return self._names_of(self._spec_for(enum))

    def _spec_for(self, enum: str) -> _E:
        cache = self.__dict__.setdefault("_specs", {})
        if enum not in cache:
            cache[enum] = _E(enum)
        return cache[enum]

    def to_wire(self, obj: Any) -> Any:
        """Model values -> what the runtime reads: Enum -> header integer, Decimal -> float."""
        if isinstance(obj, Enum):
            v = self.constants.value(str(obj))
            if v is None:
                v = getattr(obj, "fallback", None)
                if v is None:
                    raise LookupError(f"the headers define no constant {obj}")
            return v
        if isinstance(obj, dict):
            return {k: self.to_wire(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.to_wire(v) for v in obj]
        if isinstance(obj, Decimal):
            return float(obj)
        return obj

    def pack(self, obj: Any) -> bytes:
        return msgpack.packb(self.to_wire(obj), use_bin_type=True)

    def _args(self, fn: str, args: list) -> list:
        spec = self.table.get(fn)
        if spec:
            for i, s in spec.items():
                if i < len(args) and isinstance(args[i], int):
                    name = self._names_of(s).get(args[i])
                    if name is None:
                        raise ValueError(f"{fn}: argument {i} = {args[i]} is none of the expected constants")
                    args[i] = name
        if fn in ("OrderSend", "OrderCheck") and args and isinstance(args[0], dict):
            req = dict(args[0])
            for field, enum in STRUCT_ENUMS.items():
                if isinstance(req.get(field), int):
                    req[field] = self._enum_by_type(enum).get(req[field], req[field])
            args[0] = req
        return args

    # --- one call
    def call(self, fn: str, args: list) -> dict:
        """Run one host call; the reply map (before msgpack)."""
        p = self.program
        p.error = None
        self.calls += 1
        method = getattr(p, fn, None) if fn[:1].isupper() else None
        if method is None:
            raise LookupError(f"host function {fn} is not modelled")
        args = self._args(fn, list(args))
        n = REF_OVERLOADS.get(fn)
        if n is not None and len(args) == n + 1:
            value = method(*args[:n])
            r = Out(p.error is None, {n: value})
        else:
            r = method(*args)
        reply: dict[str, Any] = {"r": r.value, "out": r.out} if isinstance(r, Out) else {"r": r}
        if p.error is not None:
            reply["err"] = p.error
        return reply

    def handle(self, fn: str, payload: bytes) -> bytes:
        try:
            args = msgpack.unpackb(payload, raw=False, strict_map_key=False) if payload else []
            if not isinstance(args, list):
                raise ValueError(f"{fn}: arguments are not a msgpack array")
            return self.pack(self.call(fn, args))
        except Exception as exc:  # noqa: BLE001 - reported by the driver, never lost in ctypes
            if len(self.failures) < FAILURES_KEPT:
                self.failures.append(f"{fn}: {exc!r}\n{traceback.format_exc()}")
            return msgpack.packb({"r": None, "err": ERR_INTERNAL_ERROR})
