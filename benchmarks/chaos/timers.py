"""The daemon's timers (every wait of a scenario derives from them) and where its config takes
the open validity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.daemon.config import ConfigError, parse_config


@dataclass(frozen=True)
class Timers:
    heartbeat_ms: int = 1000
    offline_after: int = 5
    validity_ms: int = 5000

    @property
    def offline_ms(self) -> int:
        return self.heartbeat_ms * self.offline_after

    def settle_s(self, extra_ms: int = 0) -> float:
        """A generous bound for anything the daemon should do on its own timers."""
        return (2 * self.validity_ms + 2 * self.offline_ms + 4 * self.heartbeat_ms + extra_ms) / 1000 + 5


def validity_setting(validity_ms: int) -> tuple[str, str, str]:
    """(section, key, toml line) of the open validity (docs/protocol.md §7.1)."""
    return "engine", "open_validity_ms", f"open_validity_ms = {validity_ms}"


def daemon_accepts(section: str, key: str, value: Any) -> bool:
    try:
        parse_config({section: {key: value}})
        return True
    except ConfigError:
        return False

