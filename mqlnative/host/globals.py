"""Terminal-wide global variables (MQL GlobalVariable*): one table per terminal, shared by
every program on it, as MetaTrader keeps them (so a single-instance guard built on
`GlobalVariableTemp` + `GlobalVariableSetOnCondition` works across EAs).

A terminal restart keeps the ordinary variables (MetaTrader saves them) and drops the
temporary ones (`GlobalVariableTemp`): `survivors()` is what the next session starts with.
Times are seconds of the terminal's local clock (`now_s` supplied by the terminal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

NAME_MAX = 63  # MQL: a global variable name is at most 63 characters
MAX_VARIABLES = 65536  # bounded: a runaway EA cannot grow the table without limit


@dataclass(slots=True)
class _Var:
    value: float
    time_s: int
    temp: bool


class GlobalVariables:
    def __init__(self, now_s: Callable[[], int], kept: dict[str, _Var] | None = None) -> None:
        self._now_s = now_s
        self._vars: dict[str, _Var] = dict(kept or {})

    def _name_ok(self, name: object) -> bool:
        return isinstance(name, str) and 0 < len(name) <= NAME_MAX

    def _room(self, name: str) -> bool:
        return name in self._vars or len(self._vars) < MAX_VARIABLES

    def set(self, name: str, value: float) -> int:
        """GlobalVariableSet: the time of the change, 0 on a bad name (or a full table)."""
        if not self._name_ok(name) or not self._room(name):
            return 0
        v = self._vars.get(name)
        now = self._now_s()
        if v is None:
            self._vars[name] = _Var(float(value), now, False)
        else:
            v.value, v.time_s = float(value), now
        return now

    def get(self, name: str) -> float | None:
        v = self._vars.get(name)
        if v is None:
            return None
        v.time_s = self._now_s()  # MQL: the last access time
        return v.value

    def check(self, name: str) -> bool:
        return name in self._vars

    def time(self, name: str) -> int:
        v = self._vars.get(name)
        return v.time_s if v is not None else 0

    def delete(self, name: str) -> bool:
        return self._vars.pop(name, None) is not None

    def temp(self, name: str) -> bool:
        """GlobalVariableTemp: create a temporary variable (value 0); true also when it exists."""
        if name in self._vars:
            return True
        if not self._name_ok(name) or not self._room(name):
            return False
        self._vars[name] = _Var(0.0, self._now_s(), True)
        return True

    def set_on_condition(self, name: str, value: float, check_value: float) -> bool | None:
        """None: no such variable; False: the value is not `check_value`; True: set."""
        v = self._vars.get(name)
        if v is None:
            return None
        if v.value != float(check_value):
            return False
        v.value, v.time_s = float(value), self._now_s()
        return True

    def delete_all(self, prefix: str = "", limit_s: int = 0) -> int:
        gone = [n for n, v in self._vars.items() if n.startswith(prefix) and (not limit_s or v.time_s < limit_s)]
        for n in gone:
            del self._vars[n]
        return len(gone)

    def names(self) -> list[str]:
        return sorted(self._vars)

    def survivors(self) -> dict[str, _Var]:
        """What a restarted terminal starts with: everything but the temporary variables."""
        return {n: _Var(v.value, v.time_s, False) for n, v in self._vars.items() if not v.temp}
