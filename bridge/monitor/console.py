"""`mtbridge monitor`: the live console view (rich Live + Tables).

`render(state, now)` is a pure function of the state and the render time (testable with
`Console(record=True)`); `run_monitor` is the shell: a `FeedSubscriber` thread feeding a
`MonitorHub`, and a `Live` display refreshed a few times a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from dataclasses import replace
from datetime import UTC, datetime

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bridge.monitor.fmt import lots, money, pct  # one rounding rule (half-up) for every view
from bridge.monitor.console_keys import ACCOUNTS, EVENTS, HINT, KeyReader, Scroll
from bridge.monitor.labels import ENGINE_STOP_OUTS, STOP_OUT_EVENTS
from bridge.monitor.model import MAX_EVENTS, FeedHealth
from bridge.monitor.state import ALERT, WARN, Account, MonitorState
from bridge.monitor.desk_state import where
from bridge.monitor.views import DEALER, DeskView, Principal, desk_view

STALE_AFTER_MS = 5_000
DESK = Principal(DEALER, "console")

# Markers in the text itself (readable without colour, greppable in tests and logs).
STATUS_MARK = {"ok": "", "margin_call": "!! MARGIN CALL", "stop_out": "XX STOP-OUT"}
STATUS_STYLE = {"ok": "green", "margin_call": "bold yellow", "stop_out": "bold white on red"}
SEVERITY_STYLE = {"info": "", WARN: "yellow", ALERT: "bold red"}




def clock_text(ts: int) -> str:
    if not ts:
        return "--:--:--"
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%H:%M:%S")


def level_text(a: Account) -> Text:
    lvl = pct(a.margin_level)
    return Text(lvl, style=STATUS_STYLE[a.status])


def feed_status(state: MonitorState, now: int) -> tuple[str, str]:
    """(label, style) of the feed: LIVE, STALE (silent), SYNCING (no snapshot yet), NO ANSWER (not one
    item from the endpoint for 5 heartbeats: a wrong port?), OFFLINE
    (the daemon said it stopped, the link dropped, or nothing came for STALE_AFTER_MS before
    any snapshot)."""
    return health_status(state.health, now)


def health_status(h: FeedHealth, now: int) -> tuple[str, str]:
    """`feed_status` of one feed's health (a cluster desk shows one per source)."""
    if h.no_answer:  # nothing at all from the endpoint for NO_ANSWER_BEATS heartbeats: likely a wrong address
        return "NO ANSWER", "bold red"
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


def _window(rows: int, offset: int, shown: int) -> str:
    """'rows 11-20 of 53' (1-based, inclusive) for a scrolled pane's caption."""
    return f"rows {offset + 1}-{min(rows, offset + shown)} of {rows}" if rows else "no rows"


def _title(text: str, pane: str, scroll: Scroll | None) -> str:
    return f"> {text}" if scroll is not None and scroll.focus == pane else text


def accounts_table(state: MonitorState, view_accounts: tuple[Account, ...], limit: int, *,
                   scroll: Scroll | None = None) -> Table:
    off = scroll.clamp(ACCOUNTS, len(view_accounts), limit) if scroll is not None else 0
    t = Table(title=_title("Accounts by margin level", ACCOUNTS, scroll), expand=True, title_justify="left")
    cluster = bool(state.sources)
    if cluster:  # a cluster desk: the shard and the node each account lives on
        t.add_column("shard", no_wrap=True)
    for col, j in (("login", "right"), ("owner", "left"), ("balance", "right"), ("equity", "right"),
                   ("margin", "right"), ("free", "right"), ("level", "right"), ("MC/SO", "right"),
                   ("status", "left"), ("term", "left")):
        t.add_column(col, justify=j, no_wrap=True)  # type: ignore[arg-type]
    for a in view_accounts[off:off + limit]:
        style = STATUS_STYLE[a.status]
        t.add_row(*((where(state, a.shard),) if cluster else ()), str(a.login), f"{a.owner or a.role}", money(a.balance), money(a.equity), money(a.margin),
                  money(a.free_margin), level_text(a), f"{a.margin_call_level:f}/{a.stop_out_level:f}",
                  Text(STATUS_MARK[a.status] or "ok", style=style), "on" if a.online else "off",
                  style="on dark_red" if a.status == "stop_out" else None)
    if scroll is not None and len(view_accounts) > limit:
        t.caption = _window(len(view_accounts), off, limit)
    elif len(view_accounts) > limit:
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
                    f"MC {counts.get('margin_calls', 0)} SO events {counts.get('stop_outs', 0)} ({origin})", style="dim",
                    no_wrap=True, overflow="ellipsis")
    return Text(f"copies opened {counts.get('copies_opened', 0)}  closed {counts.get('copies_closed', 0)}  "
                f"refused {counts.get('copies_refused', 0)}  margin calls {counts.get('margin_calls', 0)}  "
                f"{STOP_OUT_EVENTS} {counts.get('stop_outs', 0)}  {ENGINE_STOP_OUTS} {counts.get('engine_stop_outs', 0)}  "
                f"protection {counts.get('protection_triggers', 0)}  ({origin})", style="dim")


def _compact(state: MonitorState, now: int, v: DeskView, width: int, height: int | None,
             scroll: Scroll | None) -> RenderableType:
    """80x24 and up: every login whole, the worst accounts, exposure and the newest events."""
    label, style = feed_status(state, now)
    h = state.health
    head = Text.assemble(("mtbridge ", "bold"), (f"[{label}]", style),
                         f" online {v.terminals_online}/{v.terminals} p50 ",
                         (f"{v.p50}ms" if v.p50 is not None else "-", "bold"), " p99 ",
                         (f"{v.p99}ms" if v.p99 is not None else "-", "bold"), f" wall {clock_text(now)} UTC")
    head.truncate(width, overflow="ellipsis")
    # header lines; title + header + rule per table; caption; the key hint
    budget = (height or 24) - 2 - 3 * 3 - 1 - (scroll is not None) - bool(state.sources)
    n_exp = min(len(v.exposure), 3)
    n_evt = max(2, min(len(v.events), budget // 4))
    n_acc = max(3, budget - n_exp - n_evt)
    a_off = scroll.clamp(ACCOUNTS, len(v.accounts), n_acc) if scroll is not None else 0
    e_off = scroll.clamp(EVENTS, len(v.events), n_evt) if scroll is not None else 0
    acc = Table(title=_title("Accounts by margin level", ACCOUNTS, scroll), box=box.SIMPLE_HEAD, show_edge=False,
                expand=True, title_justify="left", pad_edge=False, padding=(0, 1))
    cluster = bool(state.sources)
    if cluster:
        acc.add_column("sh", no_wrap=True)
    acc.add_column("login", justify="right", no_wrap=True, min_width=max((len(str(a.login)) for a in v.accounts),
                                                                          default=5))
    acc.add_column("owner", no_wrap=True, overflow="ellipsis", ratio=1)
    for col in ("equity", "level"):
        acc.add_column(col, justify="right", no_wrap=True)
    acc.add_column("st", no_wrap=True, min_width=5)
    acc.add_column("T", no_wrap=True, min_width=3)
    for a in v.accounts[a_off:a_off + n_acc]:
        acc.add_row(*((a.shard,) if cluster else ()), str(a.login), a.owner or a.role, money(a.equity), level_text(a),
                    Text(SHORT_MARK[a.status], style=STATUS_STYLE[a.status]), "on" if a.online else "off")
    if len(v.accounts) > n_acc:
        acc.caption = (_window(len(v.accounts), a_off, n_acc) if scroll is not None
                       else f"+{len(v.accounts) - n_acc} more (widen or heighten the terminal)")
    exp = Table(title="Exposure (lots)", box=box.SIMPLE_HEAD, show_edge=False, expand=True, title_justify="left", pad_edge=False)
    for col in ("symbol", "buy", "sell", "net", "pos"):
        exp.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    for e in v.exposure[:n_exp]:
        exp.add_row(e.symbol, lots(e.buy), lots(e.sell), lots(e.net, sign=True), str(e.positions))
    evt_title = "Latest events (server time)"
    if scroll is not None and len(v.events) > n_evt:
        evt_title += f" {_window(len(v.events), e_off, n_evt)}"
    evt = Table(title=_title(evt_title, EVENTS, scroll), box=box.SIMPLE_HEAD, show_edge=False, expand=True,
                title_justify="left", pad_edge=False, show_header=False)
    evt.add_column("time", no_wrap=True)
    evt.add_column("event", no_wrap=True, overflow="ellipsis", ratio=1)
    for e in v.events[e_off:e_off + n_evt]:
        evt.add_row(clock_text(e.ts), Text(e.text, style=SEVERITY_STYLE.get(e.severity, "")))
    parts: list[RenderableType] = [head, *_sources(state, now, width), _tally(v.counts, h, True), acc, exp, evt]
    if scroll is not None:
        parts.append(Text(HINT, style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*parts)


def _sources(state: MonitorState, now: int, width: int | None) -> list[Text]:
    """A cluster desk: one line naming each shard, its node, its feed and that feed's status."""
    if not state.sources:
        return []
    line = Text("shards: ", style="dim")
    for n, src in enumerate(state.sources):
        label, style = health_status(src.health, now)
        line.append(("; " if n else "") + f"{src.label} ")
        line.append(f"[{label}]", style=style)
        line.append(f" {src.address} #{src.health.journal_seq}" if width is None else "")
    if width is not None:
        line.truncate(width, overflow="ellipsis")
    return [line]


def render(state: MonitorState, now: int, *, principal: Principal = DESK, accounts: int = 25,
           events: int = 15, width: int | None = None, height: int | None = None,
           scroll: Scroll | None = None) -> RenderableType:
    """The whole screen. `scroll` (keys active): pane offsets, the focus marker and the key hint."""
    v = desk_view(state, principal, events=MAX_EVENTS)  # panes slice it (scrolled or not)
    if width is not None and width < COMPACT_BELOW:
        return _compact(state, now, v, width, height, scroll)
    exposure = v.exposure
    if height is not None:  # fit the screen: accounts first, then a few events
        # fixed lines: the header panel 4; accounts title, borders, header and caption 6; exposure and
        # events title, borders and header 5 each; the key hint 1
        exposure = exposure[:8]
        fixed = 20 + (scroll is not None)
        accounts = max(5, min(accounts, height - fixed - len(exposure) - 6))
        events = max(3, height - fixed - accounts - len(exposure))
    label, style = feed_status(state, now)
    h = state.health
    head = Text.assemble(
        ("mtbridge monitor  ", "bold"), (f"[{label}]", style),
        (f"  shards {len(state.sources)}" if state.sources else f"  daemon {h.instance or '?'}  journal #{h.journal_seq}"),
        f"  terminals online {v.terminals_online}/{v.terminals}",
        "  copy latency p50 ", (f"{v.p50} ms" if v.p50 is not None else "-", "bold"),
        " p99 ", (f"{v.p99} ms" if v.p99 is not None else "-", "bold"),
        f"  gaps {h.gaps}  wall clock {clock_text(now)} UTC",
    )
    tally = _tally(v.counts, h, False)
    exp = Table(title="Exposure per symbol (lots)", expand=True, title_justify="left")
    for col in ("symbol", "buy", "sell", "net", "positions"):
        exp.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    for e in exposure:
        net_style = "cyan" if e.net > 0 else "magenta" if e.net < 0 else ""
        exp.add_row(e.symbol, lots(e.buy), lots(e.sell), Text(lots(e.net, sign=True), style=net_style), str(e.positions))
    e_off = scroll.clamp(EVENTS, len(v.events), events) if scroll is not None else 0
    evt_title = "Latest events"
    if scroll is not None and len(v.events) > events:
        evt_title += f" {_window(len(v.events), e_off, events)}"
    evt = Table(title=_title(evt_title, EVENTS, scroll), expand=True, title_justify="left")
    evt.add_column("server time", no_wrap=True)
    evt.add_column("event", overflow="fold" if height is None else "ellipsis", no_wrap=height is not None)
    for e in v.events[e_off:e_off + events]:
        evt.add_row(clock_text(e.ts), Text(e.text, style=SEVERITY_STYLE.get(e.severity, "")))
    parts: list[RenderableType] = [Panel(Group(head, *_sources(state, now, None), tally), padding=(0, 1)),
                                   accounts_table(state, v.accounts, accounts, scroll=scroll), exp, evt]
    if scroll is not None:
        parts.append(Text(HINT, style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*parts)


def run_monitor(address: str, *, curve: object = None, refresh: float = 0.5, duration: float | None = None,
                console: Console | None = None, clock: Callable[[], int] | None = None,
                stdin: object = None) -> int:
    """Draw one daemon's feed until `q` (keys: stdin a terminal), Ctrl-C, or `duration` seconds."""
    from bridge.monitor.feed import FeedSubscriber, wall_ms
    from bridge.monitor.hub import MonitorHub

    clock = clock or wall_ms
    hub = MonitorHub()
    sub = FeedSubscriber(address, hub.apply, curve=curve, clock=clock, on_bad_frame=hub.bad_frame)  # type: ignore[arg-type]
    return _draw(hub, sub, refresh=refresh, duration=duration, console=console, clock=clock, stdin=stdin)


def run_cluster_monitor(feeds: Callable[[], dict[str, tuple[str, str]]], *, curve: object = None,
                        refresh: float = 0.5, duration: float | None = None, console: Console | None = None,
                        clock: Callable[[], int] | None = None, stdin: object = None,
                        follow_s: float = 2.0, until: Callable[[MonitorState], bool] | None = None) -> int:
    """Draw one desk over several daemons' feeds (`feed.lease_feeds` / `listed_feeds`), the list
    re-read every `follow_s`: a shard that moves is followed to its new owner's feed. `until`:
    stop once the desk satisfies it (a script waiting for a state; tests)."""
    from bridge.monitor.feed import ClusterFeeds, wall_ms
    from bridge.monitor.hub import DeskHub

    clock = clock or wall_ms
    hub = DeskHub(clock)
    sub = ClusterFeeds(feeds, hub, curve=curve, refresh_s=follow_s, clock=clock)  # type: ignore[arg-type]
    return _draw(hub, sub, refresh=refresh, duration=duration, console=console, clock=clock, stdin=stdin,
                 until=until)


def _draw(hub: Any, sub: Any, *, refresh: float, duration: float | None, console: Console | None,
          clock: Callable[[], int], stdin: object, until: Callable[[MonitorState], bool] | None = None) -> int:
    """The drawing loop over a `MonitorHub` or a `DeskHub` fed by `sub` (started and stopped here)."""
    console = console or Console()
    scroll = Scroll()

    def on_key(key: str) -> None:  # the key thread: one reference swap, then wake the drawing loop
        nonlocal scroll
        scroll = replace(scroll, page=max(3, console.size.height // 3)).press(key)  # a page: a third of the screen
        hub.poke()

    keys = KeyReader(on_key, stdin)
    sub.start()
    active = keys.start()
    started = time.monotonic()
    try:
        def draw(s: MonitorState) -> RenderableType:
            size = console.size  # re-read: the terminal may be resized
            return render(s, clock(), width=size.width, height=size.height, scroll=scroll if active else None)

        with Live(hub.read(draw), console=console, refresh_per_second=4, screen=False, transient=False,
                  vertical_overflow="crop") as live:
            while not scroll.quit and (duration is None or time.monotonic() - started < duration):
                hub.wait_change(hub.version, refresh)
                # the frame and the `until` test of one state: the last frame drawn is the one that met it
                frame, done = hub.read(lambda s: (draw(s), until is not None and until(s)))
                live.update(frame)
                if getattr(sub, "error", None) is not None:
                    raise sub.error
                if done:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        keys.stop()
        sub.stop()
    return 0
