"""Shared set-up for the trade-server tests (imported by module name; no conftest)."""

from __future__ import annotations

from decimal import Decimal as D

from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc

MONDAY = 1704067200000  # 2024-01-01 00:00 UTC, a Monday (server time = UTC)
HOUR = 3_600_000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"


def new_server(seed: int = 0, **kw) -> TradeServer:
    return TradeServer(seed=seed, start_ms=MONDAY + 10 * HOUR, scrypt_n=2 ** 10, **kw)


def account(server: TradeServer, email: str = "ann@example.com", account_type: str = "mt5_standard",
            deposit: str | None = "10000", leverage: int = 500, **kw):
    """Register (if needed), open, fund and log in; returns (login, session)."""
    if server.client(email) is None:
        server.register_client(email, "Ann Smith")
    login = server.open_account(email, account_type, kw.pop("currency", "USD"), leverage,
                                master_password=MASTER, investor_password=INVESTOR, **kw)
    assert isinstance(login, int), login
    if deposit is not None:
        server.deposit(login, D(deposit), payer_email=email)
    return login, server.login(login, MASTER)


def quote(server: TradeServer, bid: str, ask: str | None = None, symbol: str = "EURUSD", dt: int = 1000) -> None:
    server.on_tick(Tick(symbol, server.now_ms + dt, D(bid), D(ask if ask is not None else bid)))


def market(server, session, side: str, volume: str, symbol: str = "EURUSD", **kw):
    otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
    fields = {k: (D(v) if isinstance(v, str) else v) for k, v in kw.items()}
    return server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, symbol, D(volume), otype, **fields))


def pending(server, session, otype: int, volume: str, price: str, symbol: str = "EURUSD", **kw):
    fields = {k: (D(v) if isinstance(v, str) else v) for k, v in kw.items()}
    return server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, symbol, D(volume), otype,
                                                   price=D(price), **fields))
