"""Positions and exposure in money, folded from the feed's `positions` and `prices` topics
(docs/monitoring.md F14, F15). Pure: figures are computed from the last quotes the feed
carried and the packaged symbol table (`bridge.domain.rules.default_rules`).

* a position's current price is the price it would close at: bid for a buy, ask for a sell;
* floating P/L = (current - open) x side x volume x contract size, converted from the
  symbol's quote currency to the account currency with the same mid-price rates the engine
  uses (`bridge.domain.trading.profit`); `None` while a needed quote is missing;
* swap: as the position's terminal last reported it (docs/protocol.md section 4, "Swap": in
  `hello` / `position_opened`, and a `position_modified` after each rollover), account currency,
  apart from the floating P/L as in MetaTrader's own positions table; 0 when absent (a terminal
  older than the field).
* exposure notional in the desk currency (USD): net lots x contract size x mid price,
  converted from the quote currency; gross = buy + sell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bridge.domain.currency import Rates
from bridge.domain.errors import DomainError
from bridge.domain.rules import default_rules
from bridge.domain.trading import Side
from bridge.domain.trading import profit as position_profit


if TYPE_CHECKING:
    from bridge.monitor.state import MonitorState

DESK_CURRENCY = "USD"
ZERO = Decimal(0)
MAX_POSITIONS_PER_LOGIN = 500


@dataclass(frozen=True, slots=True)
class Position:
    login: int
    ticket: int
    symbol: str
    side: str  # buy | sell
    volume: Decimal
    price: Decimal  # open price
    trader: str = ""  # a copy: the trader it follows ...
    trader_ticket: int | None = None  # ... and the trader position
    swap: Decimal = ZERO  # account currency, as last reported


@dataclass(frozen=True, slots=True)
class PositionRow:
    position: Position
    owner: str
    currency: str
    current: Decimal | None
    profit: Decimal | None
    volume_step: Decimal


@dataclass(frozen=True, slots=True)
class MoneyExposure:
    symbol: str
    buy: Decimal
    sell: Decimal
    positions: int
    notional: Decimal | None  # net, desk currency
    gross_notional: Decimal | None
    profit: Decimal | None  # floating P/L of the positions behind it, desk currency
    volume_step: Decimal

    @property
    def net(self) -> Decimal:
        return self.buy - self.sell

    @property
    def gross(self) -> Decimal:
        return self.buy + self.sell


def rates_of(prices: Mapping[str, tuple[Decimal, Decimal]]) -> Rates:
    return Rates({s: (b + a) / 2 for s, (b, a) in prices.items() if len(s) == 6 and s.isalpha()})


def _spec(symbol: str):  # -> SymbolSpec | None
    try:
        return default_rules().symbols.get(symbol)
    except DomainError:
        return None


def volume_step(symbol: str) -> Decimal:
    spec = _spec(symbol)
    return spec.volume_step if spec is not None else Decimal("0.01")


def floating(p: Position, currency: str, prices: Mapping[str, tuple[Decimal, Decimal]],
             rates: Rates) -> tuple[Decimal | None, Decimal | None]:
    """(current price, floating P/L in `currency`); None where a quote or the symbol is unknown."""
    q = prices.get(p.symbol)
    if q is None:
        return None, None
    side = Side(p.side)
    current = q[0] if side is Side.BUY else q[1]
    spec = _spec(p.symbol)
    if spec is None or not currency:
        return current, None
    try:
        return current, position_profit(spec, side, p.volume, p.price, current, currency, rates)
    except DomainError:
        return current, None


def position_rows(state: MonitorState, logins: set[int] | None = None) -> list[PositionRow]:
    """Open positions of `logins` (all when None), by login then ticket."""
    rates = rates_of(state.prices)
    out = []
    for login in sorted(state.positions):
        if logins is not None and login not in logins:
            continue
        a = state.accounts.get(login)
        currency = a.currency if a is not None and a.currency else DESK_CURRENCY
        for ticket in sorted(state.positions[login]):
            p = state.positions[login][ticket]
            cur, pl = floating(p, currency, state.prices, rates)
            out.append(PositionRow(p, a.owner if a is not None else "", currency, cur, pl, volume_step(p.symbol)))
    return out


def money_exposure(state: MonitorState, logins: set[int] | None = None) -> list[MoneyExposure]:
    """Per symbol over the positions of `logins` (all when None): lots, notional and P/L in USD.
    Most exposed (by |net notional|, then |net lots|) first."""
    rates = rates_of(state.prices)
    acc: dict[str, list] = {}
    for login, book in state.positions.items():
        if logins is not None and login not in logins:
            continue
        for p in book.values():
            row = acc.setdefault(p.symbol, [ZERO, ZERO, 0, ZERO, True])
            row[0 if p.side == "buy" else 1] += p.volume
            row[2] += 1
            _, pl = floating(p, DESK_CURRENCY, state.prices, rates)
            if pl is None:
                row[4] = False
            else:
                row[3] += pl
    out = []
    for sym, (buy, sell, n, pl, complete) in acc.items():
        spec = _spec(sym)
        q = state.prices.get(sym)
        net_n = gross_n = None
        if spec is not None and q is not None:
            mid = (q[0] + q[1]) / 2
            try:
                per_lot = rates.convert(spec.contract_size * mid, spec.quote, DESK_CURRENCY)
                net_n, gross_n = (buy - sell) * per_lot, (buy + sell) * per_lot
            except DomainError:
                pass
        out.append(MoneyExposure(sym, buy, sell, n, net_n, gross_n, pl if complete else None, volume_step(sym)))
    return sorted(out, key=lambda e: (-(abs(e.notional) if e.notional is not None else ZERO), -abs(e.net), e.symbol))


def exposure_by_trader(state: MonitorState) -> list[tuple[str, list[MoneyExposure]]]:
    """Per trader: the exposure of the trader's own account and of its followers' copies."""
    groups: dict[str, set[int]] = {}
    for t in state.traders.values():
        if t.account:
            groups.setdefault(t.id, set()).add(t.account)
    for s in state.subscriptions.values():
        if s.state != "stopped":
            groups.setdefault(s.trader, set()).add(s.account)
    return [(tid, money_exposure(state, logins)) for tid, logins in sorted(groups.items())]


def total(rows: list[MoneyExposure]) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(net notional, gross notional, P/L) summed; None when a part is unknown."""
    def add(vals: list[Decimal | None]) -> Decimal | None:
        return None if any(v is None for v in vals) else sum((v for v in vals if v is not None), ZERO)

    return add([r.notional for r in rows]), add([r.gross_notional for r in rows]), add([r.profit for r in rows])


# ---------------------------------------------------------------------- feed handlers
def _position(login: int, row: Mapping[str, Any]) -> Position:
    from bridge.monitor.state import _dec, _int

    tt = row.get("trader_ticket")
    return Position(login, _int(row["ticket"]), str(row["symbol"]), "sell" if row.get("side") == "sell" else "buy",
                    _dec(row.get("volume")), _dec(row.get("price")), str(row.get("trader") or ""),  # type: ignore[arg-type]
                    None if tt is None else _int(tt), _dec(row.get("swap")))  # type: ignore[arg-type]


def put_positions(state: MonitorState, body: Mapping[str, Any]) -> None:
    from bridge.monitor.state import _int

    login = _int(body["login"])
    rows = list(body.get("positions") or ())[-MAX_POSITIONS_PER_LOGIN:]
    book = {p.ticket: p for p in (_position(login, r) for r in rows)}
    if book:
        state.positions[login] = book
    else:
        state.positions.pop(login, None)


def put_prices(state: MonitorState, rows: Any) -> None:
    from bridge.monitor.state import _dec

    for row in rows or ():
        state.prices[str(row["symbol"])] = (_dec(row.get("bid")), _dec(row.get("ask")))  # type: ignore[assignment]


def on_positions(state: MonitorState, body: Mapping[str, Any], ts: int) -> None:
    put_positions(state, body)


def on_prices(state: MonitorState, body: Mapping[str, Any], ts: int) -> None:
    put_prices(state, body.get("symbols"))
