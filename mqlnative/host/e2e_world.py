"""The world of the MQL end-to-end run: a simulated trade server on wall time, the accounts,
a real `mtbridge daemon` subprocess with CURVE keys, and what the run is judged on.

Both sides of the comparison (the EAs and the Python simulated terminals) get a fresh
`Market` with the same seed, accounts and daemon configuration; the scenario then drives the
trader's account directly on the server (the trader trades by hand; the trader EA or Python
terminal reports it) and waits, after each step, until the daemon has settled it:
the trader's reports are journaled and no command to an online investor is unanswered.

Server time follows the wall clock (`WallClock`): the daemon judges an open's `expires`
(trader open time + `open_validity_ms`) by its own wall clock, as a broker's daemon and
trade server run together. The trade server's zone (`timezone`, default the broker's usual
UTC+2/UTC+3 `BROKER_DEFAULT`) is also the daemon's `[engine] server_timezone`, as in a
correct deployment: every `hello.utc_offset_ms` matches and the daemon logs no
`terminal.utc_offset_mismatch` (the run fails if it does). The market trades every day (the run may happen on a Sunday)
and the accounts are swap-free (a run across midnight would otherwise differ by a swap).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path

from bridge.daemon.client import AdminClient
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from mqlnative.host.clock import WallClock
from simulator.calendar import TradingCalendar
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc

MASTER, INVESTOR = "yS22Fr45", "Inv12345"
SYMBOL = "EURUSD"
TRADER_EVENTS = ("TraderPositionOpened", "TraderPositionClosed", "TraderPositionModified")
ACCOUNT_TYPE = {"MT4": "mt4_standard", "MT5": "mt5_standard"}


@dataclass(frozen=True)
class Role:
    """One account and the terminal on it. `kind`: trader | investor; `mode` of an investor's
    subscription; `margin_mode` of an MT5 account; `subscribed`: False for an account that
    only checks the EA's start (the netting refusal)."""

    name: str
    platform: str
    kind: str
    mode: str = "equal"
    margin_mode: str = "hedging"
    subscribed: bool = True


class Market:
    def __init__(self, tmp: Path, roles: list[Role], *, seed: int, validity_ms: int, heartbeat_ms: int = 200,
                 timezone: ServerTimeZone = BROKER_DEFAULT) -> None:
        self.tmp = tmp
        self.roles = {r.name: r for r in roles}
        self.validity_ms = validity_ms
        self.timezone = timezone
        self.clock = WallClock(time.time_ns() // 1_000_000)
        every_day = TradingCalendar(always_open=("crypto", "forex", "metals", "indices", "energies", "stocks"),
                                    weekday_only=(), timezone=timezone)
        self.server = TradeServer(seed=seed, start_ms=self.clock.now_ms(), scrypt_n=2**4, calendar=every_day)
        self.quote("1.10000", "1.10010")
        self.logins: dict[str, int] = {}
        for r in roles:
            email = f"{r.name}@example.com"
            self.server.register_client(email, r.name)
            login = self.server.open_account(email, ACCOUNT_TYPE[r.platform], "USD", 100, master_password=MASTER,
                                             investor_password=INVESTOR, swap_free=True,
                                             margin_mode=r.margin_mode if r.platform == "MT5" else None)
            assert isinstance(login, int), login
            self.logins[r.name] = login
        traders = [r for r in roles if r.kind == "trader"]
        keys = {r.name: ([self.logins[r.name]], r.kind) for r in roles}
        keys["ops"] = ([], "admin")
        engine = (f"open_validity_ms = {validity_ms}\nmirror_stops = true\nserver_timezone = \"{timezone}\"\n"
                  "eligible_trader_types = [\"mt4_standard\", \"mt5_standard\"]\n"
                  # both platforms on both sides (seed 003 §3 defaults to MT4 only)
                  "trader_platforms = [\"MT4\", \"MT5\"]\ninvestor_platforms = [\"MT4\", \"MT5\"]")
        self.setup = make_setup(tmp / "daemon", keys, heartbeat_ms=heartbeat_ms, engine=engine)
        self.daemon = DaemonProcess(self.setup.config_path).start()
        self.admin = AdminClient(self.daemon.endpoints["admin"], self.setup.curve("ops"))
        self._back_office(traders)
        self.subscribed_at = self.clock.now_ms()

    def _back_office(self, traders: list[Role]) -> None:
        for t in traders:
            email = f"{t.name}@example.com"
            self.server.deposit(self.logins[t.name], D(10000), payer_email=email)
            r = self.admin("register_trader", trader=t.name, account=self.logins[t.name],
                           account_type=ACCOUNT_TYPE[t.platform], leverage=100, commission_pct="20")
            assert r["ok"], r
        trader = traders[0].name
        for r in self.roles.values():
            if r.kind != "investor":
                continue
            email = f"{r.name}@example.com"
            if not r.subscribed:
                self.server.deposit(self.logins[r.name], D(2000), payer_email=email)
                continue
            assert self.admin("deposit", owner=r.name, amount="2000")["ok"]
            sub = self.admin("subscribe", investor=r.name, trader=trader, account=self.logins[r.name], amount="2000",
                             mode=r.mode, account_type=ACCOUNT_TYPE[r.platform])
            assert sub["ok"], sub
            self.server.deposit(self.logins[r.name], D(2000), payer_email=email)  # the broker books it

    def endpoint(self) -> str:
        return self.daemon.endpoints["router"]

    def close(self) -> None:
        self.admin.sock.close(0)
        self.daemon.terminate()

    # --- the trader, by hand
    def quote(self, bid: str, ask: str) -> None:
        t = max(self.clock.now_ms(), self.server.now_ms)
        self.server.on_tick(Tick(SYMBOL, t, D(bid), D(ask)))

    def _session(self, trader: str):
        return self.server.login(self.logins[trader], MASTER)

    def trade(self, trader: str, request: TradeRequest):
        self.server.advance_to(max(self.clock.now_ms(), self.server.now_ms))
        r = self.server.order_send(self._session(trader), request, reason=rc.DEAL_REASON_CLIENT)
        assert r.ok, (request, r)
        return r

    def open(self, trader: str, side: str, volume: str, sl: str = "0", tp: str = "0") -> int:
        otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
        return self.trade(trader, TradeRequest(rc.TRADE_ACTION_DEAL, SYMBOL, D(volume), otype, sl=D(sl),
                                               tp=D(tp))).position

    def close_part(self, trader: str, ticket: int, volume: str) -> None:
        (p,) = [p for p in self.server.positions(self.logins[trader]) if p.ticket == ticket]
        otype = rc.ORDER_TYPE_SELL if p.type == rc.POSITION_TYPE_BUY else rc.ORDER_TYPE_BUY
        self.trade(trader, TradeRequest(rc.TRADE_ACTION_DEAL, SYMBOL, D(volume), otype, position=ticket))

    def modify(self, trader: str, ticket: int, sl: str, tp: str) -> None:
        self.trade(trader, TradeRequest(rc.TRADE_ACTION_SLTP, SYMBOL, sl=D(sl), tp=D(tp), position=ticket))

    # --- the daemon's side
    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.setup.journal}?mode=ro", uri=True, timeout=5)

    def trader_events(self) -> int:
        db = self._db()
        try:
            marks = ",".join("?" * len(TRADER_EVENTS))
            return db.execute(f"SELECT count(*) FROM events WHERE type IN ({marks})", TRADER_EVENTS).fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0
        finally:
            db.close()

    def commands(self) -> list[tuple]:
        """(key, login, type, status) of every journaled command (the daemon's own reader)."""
        try:
            return journal_commands(self.setup.journal)
        except sqlite3.OperationalError:  # the schema is not there yet
            return []

    def sessions(self) -> set[int]:
        return set(self.admin("status")["sessions"])

    def settled(self, trader_events: int, online: set[str]) -> bool:
        """The daemon saw `trader_events` trader reports, every `online` login has a session,
        and no command to an online login is unanswered."""
        if self.trader_events() < trader_events:
            return False
        logins = {self.logins[n] for n in online}
        if not logins <= self.sessions():
            return False
        return not any(status == "pending" and login in logins for _, login, _, status in self.commands())

    # --- what the run is judged on
    def offset_mismatches(self) -> list[str]:
        """The daemon's `terminal.utc_offset_mismatch` warnings (a terminal whose
        `hello.utc_offset_ms` is not the configured zone's): must be none."""
        log = self.daemon.log_path
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
        return [f"daemon: {ln}" for ln in lines if "terminal.utc_offset_mismatch" in ln]

    def trader_open_times(self) -> dict[int, int]:
        out = {}
        for r in self.roles.values():
            if r.kind == "trader":
                for d in self.server.history_deals(self.logins[r.name]):
                    if d.entry == rc.DEAL_ENTRY_IN and d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL):
                        out.setdefault(d.position_id, d.time_msc)
        return out

    def copies(self) -> dict[str, list[tuple]]:
        """Per investor: its trades in order, trader tickets replaced by their opening order
        (T0, T1, ...) so two runs compare whatever tickets the server handed out:
        ("open", tag, side, volume) / ("close", tag, volume, reason)."""
        order = {t: i for i, t in enumerate(sorted(self.trader_open_times(), key=self.trader_open_times().get))}
        out: dict[str, list[tuple]] = {}
        for r in self.roles.values():
            if r.kind != "investor":
                continue
            tags: dict[int, str] = {}
            rows = []
            for d in self.server.history_deals(self.logins[r.name]):
                if d.type not in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL):
                    continue
                if d.entry == rc.DEAL_ENTRY_IN:
                    tags[d.position_id] = _normalise(d.comment, order)
                    rows.append(("open", tags[d.position_id], "buy" if d.type == rc.DEAL_TYPE_BUY else "sell",
                                 str(d.volume)))
                else:
                    reason = {rc.DEAL_REASON_SL: "sl", rc.DEAL_REASON_TP: "tp", rc.DEAL_REASON_SO: "so"}.get(
                        d.reason, "client")
                    rows.append(("close", tags.get(d.position_id, "?"), str(d.volume), reason))
            out[r.name] = rows
        return out

    def late_opens(self) -> list[str]:
        """Copies opened after their trader position's open time + validity (must be none)."""
        opened = self.trader_open_times()
        late = []
        for r in self.roles.values():
            if r.kind != "investor":
                continue
            for d in self.server.history_deals(self.logins[r.name]):
                if d.entry != rc.DEAL_ENTRY_IN or d.type not in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL):
                    continue
                t = _trader_ticket(d.comment)
                if t in opened and d.time_msc > opened[t] + self.validity_ms:
                    late.append(f"{r.name}: {d.comment} opened {d.time_msc - opened[t]} ms after the trader")
        return late

    def command_summary(self) -> list[tuple]:
        return [(k, s) for k, _, _, s in self.commands()]


def _trader_ticket(tag: str) -> int | None:
    parts = tag.split("-")
    if len(parts) >= 2 and parts[1].startswith("t") and parts[1][1:].isdigit():
        return int(parts[1][1:])
    return None


def _normalise(tag: str, order: dict[int, int]) -> str:
    t = _trader_ticket(tag)
    if t is None or t not in order:
        return tag
    parts = tag.split("-")
    parts[1] = f"T{order[t]}"
    return "-".join(parts)
