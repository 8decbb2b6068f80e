"""`DealerAccounts`: the account side of a `TerminalCore` that the gateway runs.

A `TerminalCore` reads and trades through one object (its `server`): `now_ms`, `timezone`,
`account_info`, `positions`, `history_deals`, `symbol_tick` and `order_send(session,
request)`. In a terminal that object is the trade server seen through a client connection
(one password login per account). In the gateway it is this adapter over the plugin's
`ServerAPI` (`simulator.server.plugins`): the reads are its queries (what a real plugin reads
through the MT5 Server API: UserGet, PositionGet, DealGet, TickLast), and `order_send`
becomes a **dealer action** (`SendRequest`) on the addressed account: no password, no client
session, the account's owner signed in or not.

So the protocol machinery (sequencing, reports, exactly-once results, restart recovery) is
the terminal's, unchanged; only where trades go differs. The dealer's request is the very
request the EA would send (same magic, comment, volume; reason EXPERT, as the EA's), so the
account ends up with the same orders, deals and positions in either mode.
"""

from __future__ import annotations

from simulator.server import Session, TradeRequest, TradeResult
from simulator.server.plugins import SendRequest


def dealer_session(login: int) -> Session:
    """What the gateway hands `TerminalCore` for a login it serves: a trading (not read-only)
    stand-in for a client session; `session_id` 0 = no client session (a dealer acts)."""
    return Session(login, False, 0)


class DealerAccounts:
    """Reads through the plugin's `ServerAPI` queries; trades through its dealer actions.
    `timezone`: the server's zone (`hello.utc_offset_ms`), from the server's configuration."""

    __slots__ = ("api", "timezone")

    def __init__(self, api, timezone) -> None:
        self.api = api
        self.timezone = timezone

    @property
    def now_ms(self) -> int:
        return self.api.now_ms

    def account_info(self, login: int):
        return self.api.account(login)

    def positions(self, login: int, symbol: str | None = None):
        return self.api.positions(login, symbol)

    def history_deals(self, login: int, from_ms: int = 0, to_ms: int | None = None):
        return self.api.history_deals(login, from_ms, to_ms)

    def symbol_tick(self, symbol: str, login: int | None = None):
        return self.api.symbol_tick(symbol, login)

    def order_send(self, session: Session, request: TradeRequest) -> TradeResult:
        result = self.api.execute(SendRequest(session.login, request))
        assert isinstance(result, TradeResult), result  # a trade request answers with a TradeResult
        return result
