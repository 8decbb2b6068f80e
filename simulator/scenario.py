"""Scenario files: what a simulation runs (symbols and feeds, accounts, scripted orders,
strategies), parsed from TOML into frozen values and validated up front.

A bad file raises `ScenarioError` naming the file, the line when it is known (the TOML
decoder's line for syntax errors; the line of the key for semantic errors, found in the
text), the key path and the problem, e.g.::

    examples/scenarios/x.toml:41: orders[2].volume: "abc" is not a number

The format is documented in `docs/simulator.md`. Pure apart from reading the file (and the
tick files' existence); times are ``int`` ms since the epoch, numbers are ``Decimal``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.domain.errors import DomainError
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from bridge.protocol.orders import OrderKind
from simulator.durations import parse_duration
from simulator.scenario_toml import ScenarioError, _Ctx, _T
from simulator.strategies import (STRATEGIES, StrategyLoadError, StrategyParamError, check_user_params,
                                  is_strategy_ref, load_strategy)

__all__ = ["AccountSpec", "FeedSpec", "ORDER_ACTIONS", "Scenario", "ScenarioError", "ScriptedAction",
           "StrategySpec", "load_scenario", "parse_duration", "parse_scenario"]

# --- values ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One symbol's quotes: a seeded random walk, or a replayed tick file."""

    symbol: str
    kind: str  # "random_walk" | "mt5_file" | "csv"
    path: str | None = None  # tick file (absolute) for mt5_file / csv
    start_bid: Decimal | None = None
    spread_points: int = 0
    volatility_points: Decimal | None = None
    volatility_relative: Decimal | None = None
    interval_ms: int | None = None
    ticks_per_second: Decimal | None = None
    gap_points: Decimal | None = None
    gap_relative: Decimal | None = None
    market: str | bool | None = None  # None: the symbol's rule group


@dataclass(frozen=True, slots=True)
class AccountSpec:
    id: str  # the scenario's handle for the account
    email: str
    name: str
    type: str
    currency: str
    leverage: int
    deposit: Decimal
    master_password: str
    investor_password: str
    swap_free: bool | None = None  # None: the default of the client's country
    margin_mode: str | None = None
    demo: bool = False
    country: str | None = None  # ISO 3166-1 alpha-2 of the client


# the pending-order actions: the wire's order types the simulated server runs (no stop-limit)
PENDING_ACTIONS = tuple(k.value for k in OrderKind if not k.stop_limit)
ORDER_ACTIONS = ("buy", "sell", *PENDING_ACTIONS, "modify", "sltp",
                 "close", "cancel", "deposit", "withdraw", "leverage")


@dataclass(frozen=True, slots=True)
class ScriptedAction:
    """One scripted step at `at_ms`. `label` names what it creates (a position or pending
    order) so later steps can point at it with `ref`."""

    index: int  # position in the file: ties at one instant run in file order
    at_ms: int
    account: str
    action: str
    symbol: str | None = None
    volume: Decimal | None = None
    price: Decimal | None = None
    sl: Decimal | None = None
    tp: Decimal | None = None
    amount: Decimal | None = None
    leverage: int | None = None
    label: str | None = None
    ref: str | None = None
    comment: str = ""
    magic: int = 0
    expiration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class StrategySpec:
    index: int
    account: str
    kind: str
    symbol: str
    params: tuple[tuple[str, Any], ...] = ()  # validated by the strategy itself
    cls: Any = None  # a user's class (`kind` = "file.py:Class", strategies.load_strategy); None = built-in


@dataclass(frozen=True, slots=True)
class Scenario:
    path: str
    name: str
    description: str
    start_ms: int
    end_ms: int
    seed: int | None
    feeds: tuple[FeedSpec, ...]
    accounts: tuple[AccountSpec, ...]
    actions: tuple[ScriptedAction, ...]
    strategies: tuple[StrategySpec, ...]
    journal_ticks: bool = True
    stops_level_points: int = 0
    terminal_account: str | None = None  # the account the mt5 facade logs into
    mt5_step: str = "tick"  # facade time policy: "tick", "none" or a duration
    mt5_history_bars: int = 3000  # facade warm-up history: M1 bars before the start (simulator.mt5._warmup)
    server_timezone: ServerTimeZone = BROKER_DEFAULT  # the trade server's wall clock
    strict: bool = False  # market orders refused where a live server may (simulator.server.strict)
    extra: tuple = field(default=())

    def account(self, account_id: str) -> AccountSpec:
        for a in self.accounts:
            if a.id == account_id:
                return a
        raise KeyError(account_id)


# --- parsing -----------------------------------------------------------------------------------

_TOP = frozenset({"scenario", "symbols", "accounts", "orders", "strategies"})
_SCENARIO_KEYS = frozenset({"name", "description", "start", "duration", "end", "seed", "journal_ticks",
                            "stops_level_points", "terminal_account", "mt5_step", "server_timezone",
                            "mt5_history_bars", "strict"})
_FEED_KEYS = frozenset({"feed", "file", "start_bid", "spread_points", "volatility_points",
                        "volatility_relative", "interval_ms", "ticks_per_second", "gap_points",
                        "gap_relative", "market"})
_ACCOUNT_KEYS = frozenset({"id", "email", "name", "type", "currency", "leverage", "deposit",
                           "master_password", "investor_password", "swap_free", "margin_mode", "demo",
                           "country"})
_ORDER_KEYS = frozenset({"at", "account", "action", "symbol", "volume", "price", "sl", "tp", "amount",
                         "leverage", "label", "ref", "comment", "magic", "expiration"})
_STRATEGY_BASE = frozenset({"account", "kind", "symbol"})


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file; `ScenarioError` on any problem."""
    p = os.fspath(path)
    try:
        text = Path(p).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(p, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(p, "", f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_scenario(text, p)


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    ctx = _Ctx(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) if m else msg
        raise ScenarioError(path, "", f"invalid TOML: {problem}", line) from None
    top = _T(ctx, data, "")
    top.check(_TOP)
    sc = _T(ctx, top.raw("scenario"), "scenario")
    sc.check(_SCENARIO_KEYS)
    start_ms = sc.time("start")
    ctx.start_ms = start_ms
    if sc.has("end") == sc.has("duration"):
        raise ctx.fail("scenario.duration", "set exactly one of scenario.duration and scenario.end")
    end_ms = sc.time("end") if sc.has("end") else start_ms + sc.duration("duration")
    if end_ms <= start_ms:
        raise ctx.fail("scenario.end", "must be after scenario.start")
    seed = sc.integer("seed", None)
    step = sc.text("mt5_step", "tick")
    if step not in ("tick", "none"):
        try:
            parse_duration(step)
        except ValueError as exc:
            raise sc.fail("mt5_step", f"expected \"tick\", \"none\" or a duration: {exc}") from None

    from bridge.domain.rules import default_rules
    rules = default_rules()
    base_dir = Path(path).resolve().parent

    symbols = _T(ctx, top.raw("symbols"), "symbols")
    if not symbols.data:
        raise ctx.fail("symbols", "a scenario needs at least one symbol")
    feeds = []
    for name, body in symbols.data.items():
        if name not in rules.symbols:
            raise ctx.fail(f"symbols.{name}", f"unknown symbol {name!r} (not in the symbol rules)")
        feeds.append(_feed(ctx, _T(ctx, body, f"symbols.{name}"), name, base_dir, rules))

    raw_accounts = top.raw("accounts")
    if not isinstance(raw_accounts, list) or not raw_accounts:
        raise ctx.fail("accounts", "expected at least one [[accounts]] table")
    accounts: list[AccountSpec] = []
    for i, body in enumerate(raw_accounts):
        a = _account(ctx, _T(ctx, body, f"accounts[{i}]"), rules)
        if any(x.id == a.id for x in accounts):
            raise ctx.fail(f"accounts[{i}].id", f"duplicate account id {a.id!r}")
        if any(x.email.lower() == a.email.lower() and x.country != a.country for x in accounts):
            raise ctx.fail(f"accounts[{i}].country", f"one back office per e-mail: {a.email!r} is declared "
                                                     "with another country above")
        accounts.append(a)
    ids = [a.id for a in accounts]
    feed_names = [f.symbol for f in feeds]

    actions = []
    labels: set[str] = set()
    raw_orders = top.raw("orders", [])
    if not isinstance(raw_orders, list):
        raise ctx.fail("orders", "expected [[orders]] tables")
    for i, body in enumerate(raw_orders):
        act = _action(ctx, _T(ctx, body, f"orders[{i}]"), i, ids, feed_names, labels, start_ms, end_ms)
        actions.append(act)
    actions.sort(key=lambda a: (a.at_ms, a.index))

    strategies = []
    raw_strats = top.raw("strategies", [])
    if not isinstance(raw_strats, list):
        raise ctx.fail("strategies", "expected [[strategies]] tables")
    for i, body in enumerate(raw_strats):
        t = _T(ctx, body, f"strategies[{i}]")
        account = t.text("account")
        if account not in ids:
            raise t.fail("account", f"unknown account {account!r} (accounts: {', '.join(ids)})")
        kind = t.text("kind")
        cls = None
        if is_strategy_ref(kind):  # a user's class, the file relative to the scenario's directory
            try:
                cls = load_strategy(kind, Path(path).parent)
            except StrategyLoadError as exc:
                raise t.fail("kind", str(exc)) from None
        elif kind not in STRATEGIES:
            raise t.fail("kind", f"unknown strategy {kind!r} (known: {', '.join(sorted(STRATEGIES))}, "
                                 "or path/to/file.py:ClassName)")
        symbol = t.text("symbol")
        if symbol not in feed_names:
            raise t.fail("symbol", f"{symbol!r} has no feed in [symbols]")
        params = tuple((k, v) for k, v in t.data.items() if k not in _STRATEGY_BASE)
        try:
            check_user_params(cls or STRATEGIES[kind], params)
        except StrategyParamError as exc:
            raise t.fail(exc.key, exc.problem) from None
        strategies.append(StrategySpec(i, account, kind, symbol, params, cls))

    zone_text = sc.text("server_timezone", None)
    try:
        zone = BROKER_DEFAULT if zone_text is None else ServerTimeZone.parse(zone_text)
    except DomainError as exc:
        raise sc.fail("server_timezone", exc.detail) from None
    terminal = sc.text("terminal_account", None)
    if terminal is not None and terminal not in ids:
        raise sc.fail("terminal_account", f"unknown account {terminal!r}")
    return Scenario(path=path, name=sc.text("name", Path(path).stem), description=sc.raw("description", ""),
                    start_ms=start_ms, end_ms=end_ms, seed=seed, feeds=tuple(feeds),
                    accounts=tuple(accounts), actions=tuple(actions), strategies=tuple(strategies),
                    journal_ticks=sc.boolean("journal_ticks", True), strict=sc.boolean("strict", False),
                    stops_level_points=sc.integer("stops_level_points", 0, low=0),
                    terminal_account=terminal, mt5_step=step, server_timezone=zone,
                    mt5_history_bars=_history_bars(sc))


_MAX_HISTORY_BARS = 100_000  # ~70 trading days of M1 bars: bounded memory and start-up time


def _history_bars(sc: _T) -> int:
    bars = sc.integer("mt5_history_bars", 3000, low=0)
    if bars > _MAX_HISTORY_BARS:
        raise sc.fail("mt5_history_bars", f"at most {_MAX_HISTORY_BARS}, got {bars}")
    return bars


def _feed(ctx: _Ctx, t: _T, name: str, base_dir: Path, rules) -> FeedSpec:
    t.check(_FEED_KEYS)
    kind = t.text("feed", "random_walk")
    if kind in ("mt5_file", "csv"):
        extra = sorted(set(t.data) - {"feed", "file"})
        if extra:
            raise t.fail(extra[0], f"not used by a {kind} feed (only feed and file)")
        f = t.text("file")
        full = (base_dir / f).resolve()
        if not full.is_file():
            raise t.fail("file", f"tick file {f!r} not found (looked in {base_dir})")
        return FeedSpec(name, kind, str(full))
    if kind != "random_walk":
        raise t.fail("feed", f"unknown feed {kind!r} (random_walk, mt5_file, csv)")
    spec = rules.symbols.get(name)
    market = t.raw("market", None)
    if market is not None and not isinstance(market, (str, bool)):
        raise t.fail("market", "expected a calendar group name or true/false")
    vp, vr = t.decimal("volatility_points", None, positive=True), t.decimal("volatility_relative", None,
                                                                             positive=True)
    if (vp is None) == (vr is None):
        raise t.fail("volatility_points", "set exactly one of volatility_points / volatility_relative")
    iv, tps = t.integer("interval_ms", None, low=1), t.decimal("ticks_per_second", None, positive=True)
    if (iv is None) == (tps is None):
        raise t.fail("interval_ms", "set exactly one of interval_ms / ticks_per_second")
    gp, gr = t.decimal("gap_points", None, non_negative=True), t.decimal("gap_relative", None,
                                                                         non_negative=True)
    if gp is not None and gr is not None:
        raise t.fail("gap_points", "set at most one of gap_points / gap_relative")
    start_bid = t.decimal("start_bid", positive=True)
    if start_bid != start_bid.quantize(spec.point):
        raise t.fail("start_bid", f"{start_bid} has more than {spec.digits} digits for {name}")
    fs = FeedSpec(name, kind, None, start_bid, t.integer("spread_points", low=1), vp, vr, iv, tps, gp, gr,
                  market)
    try:
        from simulator.calendar import TradingCalendar
        TradingCalendar().trades_every_day(market if market is not None else spec.group)
    except ValueError as exc:
        raise t.fail("market", str(exc)) from None
    return fs


def _account(ctx: _Ctx, t: _T, rules) -> AccountSpec:
    t.check(_ACCOUNT_KEYS)
    atype = t.text("type")
    try:
        at = rules.account_types.get(atype)
    except DomainError as exc:
        raise t.fail("type", exc.detail) from None
    currency = t.text("currency", at.currencies[0])
    if currency not in at.currencies:
        raise t.fail("currency", f"{at.title} accounts are offered in {', '.join(at.currencies)}, "
                                 f"not {currency!r}")
    leverage = t.integer("leverage", low=1)
    if leverage not in at.leverages:
        raise t.fail("leverage", f"1:{leverage} is not offered on {at.title} "
                                 f"({', '.join(str(x) for x in at.leverages)})")
    mode = t.text("margin_mode", None)
    if mode is not None and mode not in at.margin_modes:
        raise t.fail("margin_mode", f"{mode!r} is not offered on {at.title} ({', '.join(at.margin_modes)})")
    from bridge.domain.passwords import password_problems
    pw = {}
    for k in ("master_password", "investor_password"):
        v = t.raw(k)
        if not isinstance(v, str):
            raise t.fail(k, "expected a string")
        problems = password_problems(v)
        if problems:
            raise t.fail(k, "; ".join(p.detail for p in problems))
        pw[k] = v
    email = t.text("email")
    country = t.text("country", None)
    if country is not None:
        from bridge.domain.countries import country_code
        try:
            country = country_code(country)
        except DomainError as exc:
            raise t.fail("country", exc.detail) from None
    swap_free = t.raw("swap_free", None)
    if swap_free is not None and not isinstance(swap_free, bool):
        raise t.fail("swap_free", f"expected true or false (or leave it out for the country's default), "
                                  f"got {swap_free!r}")
    return AccountSpec(id=t.text("id"), email=email, name=t.text("name", email.split("@")[0]), type=at.id,
                       currency=currency, leverage=leverage, deposit=t.decimal("deposit", positive=True),
                       master_password=pw["master_password"], investor_password=pw["investor_password"],
                       swap_free=swap_free, margin_mode=mode, demo=t.boolean("demo"), country=country)


_NEEDS = {
    "buy": ("symbol", "volume"), "sell": ("symbol", "volume"),
    **{kind: ("symbol", "volume", "price") for kind in PENDING_ACTIONS},
    "modify": ("ref", "price"), "sltp": ("ref",), "close": ("ref",), "cancel": ("ref",),
    "deposit": ("amount",), "withdraw": ("amount",), "leverage": ("leverage",),
}
_ALLOWED = {
    "buy": {"symbol", "volume", "sl", "tp", "label", "comment", "magic"},
    "modify": {"ref", "price", "sl", "tp", "expiration"}, "sltp": {"ref", "sl", "tp"},
    "close": {"ref", "volume", "comment"}, "cancel": {"ref"}, "deposit": {"amount"}, "withdraw": {"amount"},
    "leverage": {"leverage"},
}
_ALLOWED["sell"] = _ALLOWED["buy"]
for _k in PENDING_ACTIONS:
    _ALLOWED[_k] = {"symbol", "volume", "price", "sl", "tp", "label", "comment", "magic", "expiration"}


def _action(ctx: _Ctx, t: _T, i: int, ids: list[str], feeds: list[str], labels: set[str],
            start_ms: int, end_ms: int) -> ScriptedAction:
    t.check(_ORDER_KEYS)
    at = t.time("at")
    if not start_ms <= at < end_ms:
        raise t.fail("at", "outside the scenario's time span [start, end)")
    account = t.text("account")
    if account not in ids:
        raise t.fail("account", f"unknown account {account!r} (accounts: {', '.join(ids)})")
    action = t.text("action")
    if action not in ORDER_ACTIONS:
        raise t.fail("action", f"unknown action {action!r} (known: {', '.join(ORDER_ACTIONS)})")
    for k in _NEEDS[action]:
        t.raw(k)
    for k in t.data:
        if k not in _ALLOWED[action] | {"at", "account", "action"}:
            raise t.fail(k, f"not used by a {action!r} step")
    symbol = t.text("symbol", None)
    if symbol is not None and symbol not in feeds:
        raise t.fail("symbol", f"{symbol!r} has no feed in [symbols]")
    label = t.text("label", None)
    if label is not None:
        if label in labels:
            raise t.fail("label", f"duplicate label {label!r}")
        labels.add(label)
    ref = t.text("ref", None)
    if ref is not None and ref not in labels:
        raise t.fail("ref", f"no earlier step is labelled {ref!r}")
    comment = t.raw("comment", "")
    if not isinstance(comment, str):
        raise t.fail("comment", "expected a string")
    return ScriptedAction(
        index=i, at_ms=at, account=account, action=action, symbol=symbol,
        volume=t.decimal("volume", None, positive=True), price=t.decimal("price", None, positive=True),
        sl=t.decimal("sl", None, non_negative=True), tp=t.decimal("tp", None, non_negative=True),
        amount=t.decimal("amount", None, positive=True), leverage=t.integer("leverage", None, low=1),
        label=label, ref=ref, comment=comment, magic=t.integer("magic", 0, low=0),
        expiration_ms=t.time("expiration", None))
