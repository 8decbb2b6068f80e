"""The monitor's data model: the feed item and the tables `MonitorState` keeps (frozen rows)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
HUNDRED = Decimal(100)
LEVEL_Q = Decimal("0.01")
DEFAULT_MARGIN_CALL = Decimal(40)  # bridge/data/account_types.toml [defaults]
DEFAULT_STOP_OUT = Decimal(20)
MAX_EVENTS = 200
MAX_LATENCIES = 2000
MAX_POINTS = 720  # per curve

# Severity of an event line (the console and the dashboard colour by it).
INFO, WARN, ALERT = "info", "warn", "alert"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One feed item: the topic frame and the decoded msgpack map."""

    topic: str
    body: Mapping[str, Any]

    @property
    def ts(self) -> int:
        return _int(self.body.get("ts"), 0)


@dataclass(frozen=True, slots=True)
class Account:
    login: int
    role: str = "other"  # trader | investor | other
    owner: str = ""  # trader id or investor id
    account_type: str = ""
    currency: str = ""
    leverage: int = 0
    balance: Decimal = ZERO
    equity: Decimal = ZERO
    margin: Decimal = ZERO
    free_margin: Decimal = ZERO
    margin_level: Decimal | None = None  # percent; None = no margin used
    margin_call_level: Decimal = DEFAULT_MARGIN_CALL
    stop_out_level: Decimal = DEFAULT_STOP_OUT
    online: bool = False
    updated: int = 0
    shard: str = ""  # a cluster desk: the shard the row came from; "" for one daemon

    @property
    def status(self) -> str:
        """ok | margin_call | stop_out (levels are inclusive: at the level = triggered)."""
        lvl = self.margin_level
        if lvl is None:
            return "ok"
        if lvl <= self.stop_out_level:
            return "stop_out"
        if lvl <= self.margin_call_level:
            return "margin_call"
        return "ok"


@dataclass(frozen=True, slots=True)
class Exposure:
    symbol: str
    buy: Decimal = ZERO  # lots
    sell: Decimal = ZERO
    positions: int = 0

    @property
    def net(self) -> Decimal:
        return self.buy - self.sell


@dataclass(frozen=True, slots=True)
class Terminal:
    login: int
    online: bool
    role: str = ""
    platform: str = ""
    since: int = 0
    why: str = ""


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription: int
    investor: str
    trader: str
    account: int
    state: str = "active"
    mode: str = ""
    protection_pct: Decimal | None = None
    commission_pct: Decimal = ZERO
    invested: Decimal = ZERO
    balance: Decimal = ZERO
    equity: Decimal = ZERO
    realised: Decimal = ZERO
    commission_paid: Decimal = ZERO
    open_copies: int = 0
    trades: int = 0
    shard: str = ""  # a cluster desk: the shard that numbers it (ids are per shard); "" for one daemon


@dataclass(frozen=True, slots=True)
class Trader:
    """Public statistics (seed 003 §13) as last published."""

    id: str
    account: int = 0
    return_pct: Decimal = ZERO
    max_drawdown_pct: Decimal = ZERO
    trades: int = 0
    followers: int = 0
    volume: Decimal = ZERO
    balance: Decimal = ZERO
    equity: Decimal = ZERO
    commission_pct: Decimal = ZERO
    shard: str = ""  # a cluster desk: the shard it came from; "" for one daemon


@dataclass(frozen=True, slots=True)
class EventLine:
    seq: int  # local order of arrival
    ts: int
    kind: str
    severity: str
    text: str
    login: int | None = None  # the account it concerns
    subscription: int | None = None
    shard: str = ""  # a cluster desk: the shard it came from; "" for one daemon


@dataclass(slots=True)
class FeedHealth:
    connected: bool = False
    synced: bool = False
    instance: str = ""
    last_fseq: int | None = None
    gaps: int = 0
    snapshots: int = 0
    messages: int = 0
    last_ts: int = 0  # newest `ts` seen in the feed (daemon clock)
    last_rx: int = 0  # local receive time of the last message, set by the shell via `received(now)`
    daemon_up: bool = False
    daemon_stopped: bool = False  # the daemon said `daemon.stopped`; cleared by its next message
    tallies_since: int = 0  # the daemon's start (ms) its snapshot tallies count from; 0 = since this viewer started
    journal_seq: int = 0
    journal_lag_ms: Decimal | None = None
    pending_commands: int = 0
    no_answer: str = ""  # the endpoint that sent nothing for NO_ANSWER_BEATS heartbeats; cleared by a daemon item


def _int(value: Any, default: int = 0) -> int:
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, (str, float, Decimal)):
        return int(Decimal(str(value)))
    return default
