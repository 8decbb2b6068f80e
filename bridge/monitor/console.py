"""`mtbridge monitor`: the live console view (rich Live + Tables).

`render(state, now)` is a pure function of the state and the render time (testable with
`Console(record=True)`); `run_monitor` is the shell: a `FeedSubscriber` thread feeding a
`MonitorHub`, and a `Live` display refreshed a few times a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bridge.monitor.state import ALERT, WARN, Account, MonitorState
from bridge.monitor.views import DEALER, Principal, desk_view

STALE_AFTER_MS = 5_000
DESK = Principal(DEALER, "console")

# Markers in the text itself (readable without colour, greppable in tests and logs).
STATUS_MARK = {"ok": "", "margin_call": "!! MARGIN CALL", "stop_out": "XX STOP-OUT"}
STATUS_STYLE = {"ok": "green", "margin_call": "bold yellow", "stop_out": "bold white on red"}
SEVERITY_STYLE = {"info": "", WARN: "yellow", ALERT: "bold red"}


def money(d: Decimal | None) -> str:
    return "-" if d is None else f"{d:,.2f}"


def lots(d: Decimal) -> str:
    return f"{d:,.2f}"


def clock_text(ts: int) -> str:
    if not ts:
        return "--:--:--"
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%H:%M:%S")


def level_text(a: Account) -> Text:
    lvl = "-" if a.margin_level is None else f"{a.margin_level:,.2f}%"
    return Text(lvl, style=STATUS_STYLE[a.status])


def feed_status(state: MonitorState, now: int) -> tuple[str, str]:
    """(label, style) of the feed: LIVE, STALE (silent), SYNCING (no snapshot yet), OFFLINE."""
    h = state.health
    if not h.connected and h.messages == 0:
        return "CONNECTING", "yellow"
    if not h.connected and h.last_ts == 0:
        return "OFFLINE", "bold red"
    if not h.synced:
        return "SYNCING", "yellow"
    seen = h.last_rx or h.last_ts
    if seen and now - seen > STALE_AFTER_MS:
        return "STALE", "bold red"
    return "LIVE", "bold green"


def accounts_table(state: MonitorState, view_accounts: tuple[Account, ...], limit: int) -> Table:
    t = Table(title="Accounts by margin level", expand=True, title_justify="left")
    for col, j in (("login", "right"), ("owner", "left"), ("balance", "right"), ("equity", "right"),
                   ("margin", "right"), ("free", "right"), ("level", "right"), ("MC/SO", "right"),
                   ("status", "left"), ("term", "left")):
        t.add_column(col, justify=j, no_wrap=True)  # type: ignore[arg-type]
    for a in view_accounts[:limit]:
        style = STATUS_STYLE[a.status]
        t.add_row(str(a.login), f"{a.owner or a.role}", money(a.balance), money(a.equity), money(a.margin),
                  money(a.free_margin), level_text(a), f"{a.margin_call_level:f}/{a.stop_out_level:f}",
                  Text(STATUS_MARK[a.status] or "ok", style=style), "on" if a.online else "off",
                  style="on dark_red" if a.status == "stop_out" else None)
    if len(view_accounts) > limit:
        t.caption = f"{len(view_accounts) - limit} more account(s) not shown"
    return t


def render(state: MonitorState, now: int, *, principal: Principal = DESK, accounts: int = 25,
           events: int = 15) -> RenderableType:
    v = desk_view(state, principal, events=events)
    label, style = feed_status(state, now)
    h = state.health
    head = Text.assemble(
        ("mtbridge monitor  ", "bold"), (f"[{label}]", style),
        f"  daemon {h.instance or '?'}  journal #{h.journal_seq}",
        f"  terminals online {v.terminals_online}/{v.terminals}",
        "  copy latency p50 ", (f"{v.p50} ms" if v.p50 is not None else "-", "bold"),
        " p99 ", (f"{v.p99} ms" if v.p99 is not None else "-", "bold"),
        f"  gaps {h.gaps}  at {clock_text(now)} UTC",
    )
    counts = dict(v.counts)
    tally = Text(f"copies opened {counts.get('copies_opened', 0)}  closed {counts.get('copies_closed', 0)}  "
                 f"refused {counts.get('copies_refused', 0)}  margin calls {counts.get('margin_calls', 0)}  "
                 f"stop-outs {counts.get('stop_outs', 0)} (engine {counts.get('engine_stop_outs', 0)})  protection {counts.get('protection_triggers', 0)}",
                 style="dim")
    exp = Table(title="Exposure per symbol (lots)", expand=True, title_justify="left")
    for col in ("symbol", "buy", "sell", "net", "positions"):
        exp.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    for e in v.exposure:
        net_style = "cyan" if e.net > 0 else "magenta" if e.net < 0 else ""
        exp.add_row(e.symbol, lots(e.buy), lots(e.sell), Text(f"{e.net:+,.2f}", style=net_style), str(e.positions))
    evt = Table(title="Latest events", expand=True, title_justify="left")
    evt.add_column("time", no_wrap=True)
    evt.add_column("event", overflow="fold")
    for e in v.events:
        evt.add_row(clock_text(e.ts), Text(e.text, style=SEVERITY_STYLE.get(e.severity, "")))
    return Group(Panel(Group(head, tally), padding=(0, 1)), accounts_table(state, v.accounts, accounts), exp, evt)


def run_monitor(address: str, *, curve: object = None, refresh: float = 0.5, duration: float | None = None,
                console: Console | None = None, clock: Callable[[], int] | None = None) -> int:
    from bridge.monitor.feed import FeedSubscriber, wall_ms
    from bridge.monitor.hub import MonitorHub

    clock = clock or wall_ms
    hub = MonitorHub()
    sub = FeedSubscriber(address, hub.apply, curve=curve, clock=clock, on_bad_frame=hub.bad_frame)  # type: ignore[arg-type]
    sub.start()
    console = console or Console()
    started = time.monotonic()
    try:
        with Live(hub.read(lambda s: render(s, clock())), console=console, refresh_per_second=4,
                  screen=False, transient=False) as live:
            while duration is None or time.monotonic() - started < duration:
                hub.wait_change(hub.version, refresh)
                live.update(hub.read(lambda s: render(s, clock())))
                if sub.error is not None:
                    raise sub.error
    except KeyboardInterrupt:
        pass
    finally:
        sub.stop()
    return 0
