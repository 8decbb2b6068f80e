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

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bridge.monitor.state import ALERT, WARN, Account, MonitorState
from bridge.monitor.views import DEALER, DeskView, Principal, desk_view

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
    """(label, style) of the feed: LIVE, STALE (silent), SYNCING (no snapshot yet), OFFLINE
    (the daemon said it stopped, the link dropped, or nothing came for STALE_AFTER_MS before
    any snapshot)."""
    h = state.health
    if not h.connected and h.messages == 0:
        return "CONNECTING", "yellow"
    if h.daemon_stopped or (not h.connected and h.last_ts == 0):
        return "OFFLINE", "bold red"
    seen = h.last_rx or h.last_ts
    silent = bool(seen) and now - seen > STALE_AFTER_MS
    if not h.synced:
        return ("OFFLINE", "bold red") if silent or not h.connected else ("SYNCING", "yellow")
    if silent:
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


COMPACT_BELOW = 120  # columns: narrower terminals get the compact layout (80x24 fits)
SHORT_MARK = {"ok": "ok", "margin_call": "!! MC", "stop_out": "XX SO"}


def _tally(v_counts: tuple, h: object, compact: bool) -> Text:
    counts = dict(v_counts)
    since = getattr(h, "tallies_since", 0)
    origin = f"since daemon start {clock_text(since)}" if since else "since this viewer started"
    if compact:
        return Text(f"opened {counts.get('copies_opened', 0)} refused {counts.get('copies_refused', 0)} "
                    f"MC {counts.get('margin_calls', 0)} SO {counts.get('stop_outs', 0)} ({origin})", style="dim")
    return Text(f"copies opened {counts.get('copies_opened', 0)}  closed {counts.get('copies_closed', 0)}  "
                f"refused {counts.get('copies_refused', 0)}  margin calls {counts.get('margin_calls', 0)}  "
                f"stop-outs {counts.get('stop_outs', 0)} (engine {counts.get('engine_stop_outs', 0)})  "
                f"protection {counts.get('protection_triggers', 0)}  ({origin})", style="dim")


def _compact(state: MonitorState, now: int, v: DeskView, width: int, height: int | None) -> RenderableType:
    """80x24 and up: every login whole, the worst accounts, exposure and the newest events."""
    label, style = feed_status(state, now)
    h = state.health
    head = Text.assemble(("mtbridge ", "bold"), (f"[{label}]", style),
                         f" online {v.terminals_online}/{v.terminals} p50 ",
                         (f"{v.p50}ms" if v.p50 is not None else "-", "bold"), " p99 ",
                         (f"{v.p99}ms" if v.p99 is not None else "-", "bold"), f" wall {clock_text(now)} UTC")
    head.truncate(width, overflow="ellipsis")
    budget = (height or 24) - 2 - 3 * 3 - 1  # header lines; title + header + rule per table; caption
    n_exp = min(len(v.exposure), 3)
    n_evt = max(2, min(len(v.events), budget // 4))
    n_acc = max(3, budget - n_exp - n_evt)
    acc = Table(title="Accounts by margin level", box=box.SIMPLE_HEAD, show_edge=False, expand=True, title_justify="left",
                pad_edge=False, padding=(0, 1))
    acc.add_column("login", justify="right", no_wrap=True, min_width=max((len(str(a.login)) for a in v.accounts),
                                                                          default=5))
    acc.add_column("owner", no_wrap=True, overflow="ellipsis", ratio=1)
    for col in ("equity", "level"):
        acc.add_column(col, justify="right", no_wrap=True)
    acc.add_column("st", no_wrap=True, min_width=5)
    acc.add_column("T", no_wrap=True, min_width=3)
    for a in v.accounts[:n_acc]:
        acc.add_row(str(a.login), a.owner or a.role, money(a.equity), level_text(a),
                    Text(SHORT_MARK[a.status], style=STATUS_STYLE[a.status]), "on" if a.online else "off")
    if len(v.accounts) > n_acc:
        acc.caption = f"+{len(v.accounts) - n_acc} more (widen or heighten the terminal)"
    exp = Table(title="Exposure (lots)", box=box.SIMPLE_HEAD, show_edge=False, expand=True, title_justify="left", pad_edge=False)
    for col in ("symbol", "buy", "sell", "net", "pos"):
        exp.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    for e in v.exposure[:n_exp]:
        exp.add_row(e.symbol, lots(e.buy), lots(e.sell), f"{e.net:+,.2f}", str(e.positions))
    evt = Table(title="Latest events (server time)", box=box.SIMPLE_HEAD, show_edge=False, expand=True, title_justify="left", pad_edge=False,
                show_header=False)
    evt.add_column("time", no_wrap=True)
    evt.add_column("event", no_wrap=True, overflow="ellipsis", ratio=1)
    for e in v.events[:n_evt]:
        evt.add_row(clock_text(e.ts), Text(e.text, style=SEVERITY_STYLE.get(e.severity, "")))
    return Group(head, _tally(v.counts, h, True), acc, exp, evt)


def render(state: MonitorState, now: int, *, principal: Principal = DESK, accounts: int = 25,
           events: int = 15, width: int | None = None, height: int | None = None) -> RenderableType:
    v = desk_view(state, principal, events=events)
    if width is not None and width < COMPACT_BELOW:
        return _compact(state, now, v, width, height)
    if height is not None:  # fit the screen: accounts first, then a few events
        accounts = max(5, min(accounts, height - 16 - min(len(v.exposure), 8) - 6))
        events = max(3, height - 16 - accounts - min(len(v.exposure), 8))
        v = desk_view(state, principal, events=events)
    label, style = feed_status(state, now)
    h = state.health
    head = Text.assemble(
        ("mtbridge monitor  ", "bold"), (f"[{label}]", style),
        f"  daemon {h.instance or '?'}  journal #{h.journal_seq}",
        f"  terminals online {v.terminals_online}/{v.terminals}",
        "  copy latency p50 ", (f"{v.p50} ms" if v.p50 is not None else "-", "bold"),
        " p99 ", (f"{v.p99} ms" if v.p99 is not None else "-", "bold"),
        f"  gaps {h.gaps}  wall clock {clock_text(now)} UTC",
    )
    tally = _tally(v.counts, h, False)
    exp = Table(title="Exposure per symbol (lots)", expand=True, title_justify="left")
    for col in ("symbol", "buy", "sell", "net", "positions"):
        exp.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    for e in v.exposure:
        net_style = "cyan" if e.net > 0 else "magenta" if e.net < 0 else ""
        exp.add_row(e.symbol, lots(e.buy), lots(e.sell), Text(f"{e.net:+,.2f}", style=net_style), str(e.positions))
    evt = Table(title="Latest events", expand=True, title_justify="left")
    evt.add_column("server time", no_wrap=True)
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
        def draw(s: MonitorState) -> RenderableType:
            size = console.size  # re-read: the terminal may be resized
            return render(s, clock(), width=size.width, height=size.height)

        with Live(hub.read(draw), console=console, refresh_per_second=4, screen=False, transient=False,
                  vertical_overflow="crop") as live:
            while duration is None or time.monotonic() - started < duration:
                hub.wait_change(hub.version, refresh)
                live.update(hub.read(draw))
                if sub.error is not None:
                    raise sub.error
    except KeyboardInterrupt:
        pass
    finally:
        sub.stop()
    return 0
