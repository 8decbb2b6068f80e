"""`DealerAccounts`: the account side of a `TerminalCore` that the gateway runs.

A `TerminalCore` reads and trades through one object (its `server`): `now_ms`, `timezone`,
`account_info`, `positions`, `history_deals`, `symbol_tick` and `order_send(session,
request)`. In a terminal that object is the trade server seen through a client connection
(one password login per account). In the gateway it is this adapter: the reads go to the
server's query API (what a real plugin reads through the MT5 Server API: UserGet,
PositionGet, DealGet, TickLast), and `order_send` becomes a **dealer action** on the
addressed account: no password, no client session, the account's owner signed in or not.

So the protocol machinery (sequencing, reports, exactly-once results, restart recovery) is
the terminal's, unchanged; only where trades go differs.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.server import Session, TradeRequest, TradeResult

DealerSend = Callable[[int, TradeRequest], TradeResult]
"""A dealer action: execute `request` on account `login` (the server's own retcodes)."""


def dealer_session(login: int) -> Session:
    """What the gateway hands `TerminalCore` for a login it serves: a trading (not read-only)
    stand-in for a client session; `session_id` 0 = no client session (a dealer acts)."""
    return Session(login, False, 0)


class DealerAccounts:
    """Reads through `server`'s query API; trades through `dealer(login, request)`."""

    __slots__ = ("dealer", "server")

    def __init__(self, server, dealer: DealerSend) -> None:
        self.server = server
        self.dealer = dealer

    @property
    def now_ms(self) -> int:
        return self.server.now_ms

    @property
    def timezone(self):
        return self.server.timezone  # the server zone: hello.utc_offset_ms

    def account_info(self, login: int):
        return self.server.account_info(login)

    def positions(self, login: int, symbol: str | None = None):
        return self.server.positions(login, symbol)

    def history_deals(self, login: int, from_ms: int = 0, to_ms: int | None = None):
        return self.server.history_deals(login, from_ms, to_ms)

    def symbol_tick(self, symbol: str, login: int | None = None):
        return self.server.symbol_tick(symbol, login)

    def order_send(self, session: Session, request: TradeRequest) -> TradeResult:
        return self.dealer(session.login, request)
