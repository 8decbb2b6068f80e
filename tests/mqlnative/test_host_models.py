"""The host's terminal models, called as an EA calls them, checked against the trade server.

Pure Python: no runtime, no compiler. Enum arguments are passed by their MQL names (the
dispatcher's job is tested separately with a small header).
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import msgpack
import pytest

from mqlnative.host import ManualClock, Mt4Program, Mt4Terminal, Mt5Program, Mt5Terminal
from mqlnative.host.constants import Constants, check_against_simulator
from mqlnative.host.dispatch import Dispatcher
from mqlnative.host.mt4 import ERR_INVALID_TICKET, ERR_NO_RESULT, ERR_REQUOTE, OP_BUY, OP_SELL
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc

MONDAY = 1704067200000 + 10 * 3_600_000  # Monday 2024-01-01 10:00 UTC
MASTER, INVESTOR = "yS22Fr45", "Inv12345"


class World:
    def __init__(self, tmp: Path, account_type: str = "mt5_standard", margin_mode: str | None = None) -> None:
        self.clock = ManualClock(MONDAY)
        self.server = TradeServer(seed=3, start_ms=MONDAY, scrypt_n=2**4)
        self.quote("1.10000", "1.10010")
        self.server.register_client("a@example.com", "A")
        self.login = self.server.open_account("a@example.com", account_type, "USD", 100, master_password=MASTER,
                                              investor_password=INVESTOR, margin_mode=margin_mode)
        self.server.deposit(self.login, D(10000), payer_email="a@example.com")
        self.tmp = tmp

    def quote(self, bid: str, ask: str, dt_ms: int = 1000) -> None:
        t = max(self.server.now_ms, getattr(self, "clock", ManualClock(MONDAY)).now_ms()) + dt_ms
        if hasattr(self, "clock"):
            self.clock.advance_to(t)
        self.server.on_tick(Tick("EURUSD", t, D(bid), D(ask)))

    def mt5(self, password: str = MASTER) -> Mt5Program:
        term = Mt5Terminal(self.server, self.login, password, clock=self.clock, files_dir=self.tmp / "MQL5" / "Files")
        return Mt5Program(term, "TestEA")

    def mt4(self) -> Mt4Program:
        term = Mt4Terminal(self.server, self.login, MASTER, clock=self.clock, files_dir=self.tmp / "MQL4" / "Files")
        return Mt4Program(term, "TestEA")

    def manual(self, **kw):
        """A trade made outside the EA (the account holder's own terminal)."""
        session = self.server.login(self.login, MASTER)
        r = self.server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", **kw),
                                   reason=rc.DEAL_REASON_CLIENT)
        assert r.ok, r
        return r


def buy(volume: float, **kw) -> dict:
    return {"action": "TRADE_ACTION_DEAL", "symbol": "EURUSD", "volume": volume, "type": "ORDER_TYPE_BUY",
            "price": 1.1001, "type_filling": "ORDER_FILLING_FOK", **kw}


# ------------------------------------------------------------------------------- MT5

def test_mt5_order_send_opens_and_position_getters_read_the_server(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    r = ea.OrderSend(buy(0.3, magic=77, comment="s1-t5", sl=1.09), {})
    assert r.value is True and r.out[1]["retcode"] == rc.TRADE_RETCODE_DONE
    (pos,) = w.server.positions(w.login)
    assert ea.PositionsTotal() == 1 and ea.PositionGetTicket(0) == pos.ticket
    assert ea.PositionGetDouble("POSITION_VOLUME") == 0.3
    assert ea.PositionGetDouble("POSITION_SL") == 1.09
    assert ea.PositionGetInteger("POSITION_MAGIC") == 77
    assert ea.PositionGetString("POSITION_COMMENT") == "s1-t5"
    assert ea.PositionGetInteger("POSITION_IDENTIFIER") == pos.identifier
    assert ea.PositionGetInteger("POSITION_TYPE") == "POSITION_TYPE_BUY"
    # times are server time (UTC+2 in winter for the default broker zone)
    assert ea.PositionGetInteger("POSITION_TIME_MSC") == w.server.timezone.to_server(pos.time_msc)
    assert r.out[1]["order"] == pos.ticket and r.out[1]["price"] == float(pos.price_open)


def test_mt5_selection_is_a_copy_until_selected_again(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    ea.OrderSend(buy(0.3), {})
    ticket = ea.PositionGetTicket(0)
    w.manual(volume=D("0.1"), type=rc.ORDER_TYPE_SELL, position=ticket)
    assert ea.PositionGetDouble("POSITION_VOLUME") == 0.3  # the copy taken at selection
    assert ea.PositionSelectByTicket(ticket) and ea.PositionGetDouble("POSITION_VOLUME") == 0.2
    assert not ea.PositionSelectByTicket(123) and ea.error == 4753


def test_mt5_history_select_and_deal_select_replaces_the_list(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    ea.OrderSend(buy(0.2, comment="tag"), {})
    ticket = ea.PositionGetTicket(0)
    ea.OrderSend({"action": "TRADE_ACTION_DEAL", "symbol": "EURUSD", "volume": 0.2, "type": "ORDER_TYPE_SELL",
                  "price": 1.1, "position": ticket}, {})
    assert ea.HistorySelect(0, ea.TimeCurrent() + 86400)
    deals = w.server.history_deals(w.login)
    assert ea.HistoryDealsTotal() == len(deals) == 3  # deposit, in, out
    out_deal = ea.HistoryDealGetTicket(2)
    assert out_deal == deals[2].ticket
    assert ea.HistoryDealGetInteger(out_deal, "DEAL_ENTRY") == "DEAL_ENTRY_OUT"
    assert ea.HistoryDealGetInteger(out_deal, "DEAL_POSITION_ID") == ticket
    assert ea.HistoryDealGetDouble(out_deal, "DEAL_VOLUME") == 0.2
    assert ea.HistoryDealGetString(deals[1].ticket, "DEAL_COMMENT") == "tag"
    assert ea.HistoryDealSelect(deals[1].ticket) and ea.HistoryDealsTotal() == 1
    assert ea.HistoryDealGetInteger(out_deal, "DEAL_ENTRY") == 0 and ea.error == 4755  # no longer in the list
    assert ea.HistorySelectByPosition(ticket) and ea.HistoryDealsTotal() == 2
    # a period that ends before the deals selects none of them
    assert ea.HistorySelect(0, 1) and ea.HistoryDealsTotal() == 0


def test_mt5_refused_request_returns_false_with_the_server_retcode(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    r = ea.OrderSend(buy(0.001), {})
    assert r.value is False and r.out[1]["retcode"] == rc.TRADE_RETCODE_INVALID_VOLUME and ea.error == 4756
    assert w.server.positions(w.login) == []
    check = ea.OrderCheck(buy(0.1), {})
    assert check.value is True and check.out[1]["retcode"] == 0 and w.server.positions(w.login) == []


def test_mt5_transactions_in_metatrader_order(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    ea.OrderSend(buy(0.2, sl=1.09, tp=1.2), {})
    kinds = [t["type"] for t, _, _ in ea.take_transactions()]
    assert kinds == ["TRADE_TRANSACTION_ORDER_ADD", "TRADE_TRANSACTION_DEAL_ADD", "TRADE_TRANSACTION_ORDER_DELETE",
                     "TRADE_TRANSACTION_HISTORY_ADD", "TRADE_TRANSACTION_REQUEST"]
    ticket = ea.PositionGetTicket(0)
    # an SL/TP change made elsewhere: one POSITION transaction with the new levels
    session = w.server.login(w.login, MASTER)
    assert w.server.order_send(session, TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", sl=D("1.095"), tp=D("1.2"),
                                                     position=ticket)).ok
    ea.terminal.poll()
    (pos_t, _, _), = ea.take_transactions()
    assert pos_t["type"] == "TRADE_TRANSACTION_POSITION" and pos_t["position"] == ticket
    assert pos_t["price_sl"] == 1.095
    # the server hits the TP: order, deal (reason TP), order to history; no REQUEST
    w.quote("1.20010", "1.20020")
    ea.terminal.poll()
    events = ea.take_transactions()
    assert [t["type"] for t, _, _ in events] == ["TRADE_TRANSACTION_ORDER_ADD", "TRADE_TRANSACTION_DEAL_ADD",
                                                 "TRADE_TRANSACTION_ORDER_DELETE", "TRADE_TRANSACTION_HISTORY_ADD"]
    deal = events[1][0]
    assert deal["position"] == ticket and deal["deal_type"] == "DEAL_TYPE_SELL"
    assert ea.HistoryDealSelect(deal["deal"]) and ea.HistoryDealGetInteger(deal["deal"], "DEAL_REASON") == \
        "DEAL_REASON_TP"


def test_mt5_every_program_on_the_terminal_gets_every_transaction(tmp_path: Path) -> None:
    w = World(tmp_path)
    a = w.mt5()
    b = Mt5Program(a.terminal, "Other")
    a.OrderSend(buy(0.1), {})
    assert len(a.take_transactions()) == len(b.take_transactions()) == 5


def test_mt5_netting_account_reports_its_margin_mode(tmp_path: Path) -> None:
    w = World(tmp_path, margin_mode="netting")
    ea = w.mt5()
    assert ea.AccountInfoInteger("ACCOUNT_MARGIN_MODE") == "ACCOUNT_MARGIN_MODE_RETAIL_NETTING"
    ea.OrderSend(buy(0.1), {})
    ea.OrderSend(buy(0.2), {})
    assert ea.PositionsTotal() == 1 and ea.PositionSelect("EURUSD")
    assert ea.PositionGetDouble("POSITION_VOLUME") == pytest.approx(0.3)
    assert World(tmp_path / "h").mt5().AccountInfoInteger("ACCOUNT_MARGIN_MODE") == \
        "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING"


def test_account_symbol_and_role(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    assert ea.AccountInfoInteger("ACCOUNT_LOGIN") == w.login
    assert ea.AccountInfoDouble("ACCOUNT_BALANCE") == 10000.0
    assert ea.AccountInfoString("ACCOUNT_CURRENCY") == "USD"
    assert ea.AccountInfoInteger("ACCOUNT_TRADE_ALLOWED") == 1
    assert w.mt5(INVESTOR).AccountInfoInteger("ACCOUNT_TRADE_ALLOWED") == 0  # investor password: read-only
    assert ea.SymbolInfoDouble("EURUSD", "SYMBOL_VOLUME_STEP") == 0.01
    assert ea.SymbolInfoInteger("EURUSD", "SYMBOL_DIGITS") == 5
    assert ea.SymbolInfoDouble("EURUSD", "SYMBOL_BID") == 1.1
    assert ea.SymbolInfoDouble("NOPE", "SYMBOL_BID") == 0.0 and ea.error == 4301
    assert ea.SymbolInfoDouble("EURUSD", "SYMBOL_ASK") == float(w.server.symbol_tick("EURUSD", w.login).ask)


def test_time_functions_on_the_virtual_clock(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    tz = w.server.timezone
    last_quote = w.server.symbol_tick("EURUSD").time_msc
    w.clock.advance_to(w.clock.now_ms() + 5500)  # no quote: TimeCurrent stays, the others move
    assert ea.TimeGMT() == w.clock.now_ms() // 1000
    assert ea.TimeTradeServer() == tz.to_server(w.clock.now_ms()) // 1000
    assert ea.TimeCurrent() == tz.to_server(last_quote) // 1000
    assert ea.TimeTradeServer() - ea.TimeGMT() == 2 * 3600  # the broker zone in January
    t0 = ea.GetTickCount()
    ea.Sleep(250)
    assert ea.GetTickCount() - t0 == 250 and w.server.now_ms == w.clock.now_ms()


def test_global_variables_are_terminal_wide_and_temp_ones_die_with_the_terminal(tmp_path: Path) -> None:
    w = World(tmp_path)
    a = w.mt5()
    b = Mt5Program(a.terminal, "Second")
    assert a.GlobalVariableTemp("guard") and a.GlobalVariableSetOnCondition("guard", 1, 0)
    assert b.GlobalVariableSetOnCondition("guard", 1, 0) is False  # the single-instance guard holds
    assert b.GlobalVariableSetOnCondition("missing", 1, 0) is False and b.error == 4501
    a.GlobalVariableSet("kept", 42)
    assert b.GlobalVariableGet("kept") == 42.0
    restarted = Mt5Program(a.terminal.restarted(), "Again")
    assert restarted.GlobalVariableCheck("kept") and not restarted.GlobalVariableCheck("guard")


def test_print_is_captured_per_program(tmp_path: Path) -> None:
    w = World(tmp_path)
    a, b = w.mt5(), w.mt5()
    a.Print("hello")
    assert list(a.log) == ["hello"] and list(b.log) == []


# ------------------------------------------------------------------------------- MT4

def test_mt4_open_select_and_getters(tmp_path: Path) -> None:
    w = World(tmp_path, "mt4_standard")
    ea = w.mt4()
    ticket = ea.OrderSend("EURUSD", OP_BUY, 0.3, 1.1001, 10, 1.09, 0.0, "s1-t9", 77)
    (pos,) = w.server.positions(w.login)
    assert ticket == pos.ticket and ea.OrdersTotal() == 1
    assert ea.OrderSelect(0, "SELECT_BY_POS", "MODE_TRADES") and ea.OrderTicket() == ticket
    assert (ea.OrderType(), ea.OrderLots(), ea.OrderStopLoss(), ea.OrderMagicNumber(), ea.OrderComment()) == \
        (OP_BUY, 0.3, 1.09, 77, "s1-t9")
    assert ea.OrderOpenTime() == w.server.timezone.to_server(pos.time_msc) // 1000 and ea.OrderCloseTime() == 0
    assert ea.MarketInfo("EURUSD", "MODE_ASK") == float(w.server.symbol_tick("EURUSD", w.login).ask) and ea.MarketInfo("EURUSD", "MODE_LOTSTEP") == 0.01


def test_mt4_partial_closes_chain_tickets_with_to_and_from_comments(tmp_path: Path) -> None:
    w = World(tmp_path, "mt4_standard")
    ea = w.mt4()
    first = ea.OrderSend("EURUSD", OP_BUY, 0.5, 1.1001, 10, 0.0, 0.0, "tag", 5)
    assert ea.OrderClose(first, 0.2, 1.1, 10)
    assert ea.OrdersTotal() == 1 and ea.OrderSelect(0, "SELECT_BY_POS", "MODE_TRADES")
    second = ea.OrderTicket()
    assert second != first and ea.OrderComment() == f"from #{first}" and ea.OrderLots() == 0.3
    assert ea.OrderMagicNumber() == 5
    assert ea.OrderSelect(first, "SELECT_BY_TICKET") and ea.OrderCloseTime() > 0
    assert ea.OrderComment() == f"to #{second}" and ea.OrderLots() == 0.2
    assert ea.OrderClose(second, 0.1, 1.1, 10)  # a second partial close continues the chain
    ea.OrderSelect(0, "SELECT_BY_POS", "MODE_TRADES")
    third = ea.OrderTicket()
    assert ea.OrderComment() == f"from #{second}" and ea.OrderLots() == 0.2
    # the server still has one position of 0.2 behind the chain
    (pos,) = w.server.positions(w.login)
    assert pos.ticket == first and pos.volume == D("0.2")
    assert not ea.OrderClose(first, 0.1, 1.1, 10) and ea.error == ERR_INVALID_TICKET
    assert ea.OrderClose(third, 0.2, 1.1, 10) and ea.OrdersTotal() == 0
    # history: balance, then the three closed parts
    assert ea.OrdersHistoryTotal() == 4
    # a restarted terminal rebuilds the same pool from the server
    again = Mt4Program(ea.terminal.restarted(), "Again")
    assert again.OrderSelect(second, "SELECT_BY_TICKET") and again.OrderComment() == f"to #{third}"


def test_mt4_server_side_closes_get_metatrader_comments(tmp_path: Path) -> None:
    w = World(tmp_path, "mt4_standard")
    ea = w.mt4()
    t_sl = ea.OrderSend("EURUSD", OP_BUY, 0.1, 1.1001, 10, 1.095, 0.0, "a", 0)
    t_tp = ea.OrderSend("EURUSD", OP_SELL, 0.1, 1.1, 10, 0.0, 1.096, "b", 0)
    w.quote("1.09490", "1.09500")
    assert ea.OrdersTotal() == 0
    assert ea.OrderSelect(t_sl, "SELECT_BY_TICKET") and ea.OrderComment() == "a[sl]"
    assert ea.OrderSelect(t_tp, "SELECT_BY_TICKET") and ea.OrderComment() == "b[tp]"


def test_mt4_errors(tmp_path: Path) -> None:
    w = World(tmp_path, "mt4_standard")
    ea = w.mt4()
    assert ea.OrderSend("EURUSD", OP_BUY, 0.1, 1.1050, 10, 0, 0) == -1 and ea.error == ERR_REQUOTE
    assert ea.OrderSend("NOPE", OP_BUY, 0.1, 1.1, 10, 0, 0) == -1 and ea.error == 4106
    assert ea.OrderSend("EURUSD", OP_BUY, 0.001, 1.1001, 10, 0, 0) == -1 and ea.error == 131
    t = ea.OrderSend("EURUSD", OP_BUY, 0.1, 1.1001, 10, 1.09, 0)
    assert not ea.OrderModify(t, 0, 1.09, 0) and ea.error == ERR_NO_RESULT
    assert ea.OrderModify(t, 0, 1.091, 1.2)
    assert w.server.positions(w.login)[0].sl == D("1.091")
    assert ea.GlobalVariableGet("x") == 0.0 and ea.error == 4058
    assert ea.AccountInfoInteger("ACCOUNT_MARGIN_MODE") == "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING"


# ------------------------------------------------------------------------------- dispatcher

HEADER = """
enum ENUM_POSITION_PROPERTY_DOUBLE { POSITION_VOLUME = 3, POSITION_PRICE_OPEN, POSITION_SL, POSITION_TP };
enum ENUM_POSITION_PROPERTY_INTEGER { POSITION_TICKET = 1, POSITION_TYPE = 2 };
enum ENUM_POSITION_TYPE { POSITION_TYPE_BUY = 0, POSITION_TYPE_SELL = 1 };
enum ENUM_TRADE_REQUEST_ACTIONS { TRADE_ACTION_DEAL = 1, TRADE_ACTION_SLTP = 6 };
enum ENUM_ORDER_TYPE { ORDER_TYPE_BUY, ORDER_TYPE_SELL };
enum ENUM_ORDER_TYPE_FILLING { ORDER_FILLING_FOK, ORDER_FILLING_IOC };
enum ENUM_ORDER_TYPE_TIME { ORDER_TIME_GTC };
#define SELECT_BY_POS 0
#define SELECT_BY_TICKET 1
#define MODE_TRADES 0
#define MODE_HISTORY 1
"""


def _consts(tmp: Path) -> Constants:
    p = tmp / "api_mql5.hpp"
    p.write_text(HEADER)
    return Constants.from_headers([p])


def test_dispatcher_maps_enums_and_references(tmp_path: Path) -> None:
    w = World(tmp_path)
    ea = w.mt5()
    d = Dispatcher(ea, _consts(tmp_path), "MT5")
    req = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.1001, "type_filling": 0,
           "type_time": 0, "sl": 0.0, "tp": 0.0, "magic": 0, "comment": "", "position": 0, "order": 0,
           "deviation": 10, "stoplimit": 0.0, "expiration": 0, "position_by": 0}
    reply = msgpack.unpackb(d.handle("OrderSend", msgpack.packb([req, {}])), strict_map_key=False)
    assert reply["r"] is True and reply["out"][1]["retcode"] == 10009 and "err" not in reply
    reply = msgpack.unpackb(d.handle("PositionGetTicket", msgpack.packb([0])), strict_map_key=False)
    assert reply["r"] == w.server.positions(w.login)[0].ticket
    reply = msgpack.unpackb(d.handle("PositionGetDouble", msgpack.packb([3])), strict_map_key=False)
    assert reply["r"] == 0.1
    reply = msgpack.unpackb(d.handle("PositionGetInteger", msgpack.packb([2])), strict_map_key=False)
    assert reply["r"] == 0  # POSITION_TYPE_BUY, the header's value
    reply = msgpack.unpackb(d.handle("PositionGetDouble", msgpack.packb([3, 0.0])), strict_map_key=False)
    assert reply == {"r": True, "out": {1: 0.1}}  # the bool overload with a reference
    reply = msgpack.unpackb(d.handle("PositionSelectByTicket", msgpack.packb([5])), strict_map_key=False)
    assert reply == {"r": False, "err": 4753}
    reply = msgpack.unpackb(d.handle("PositionGetDouble", msgpack.packb([3, 0.0])), strict_map_key=False)
    assert reply == {"r": False, "out": {1: 0.0}, "err": 4753}
    assert d.failures == []


def test_dispatcher_records_unknown_functions_instead_of_losing_them(tmp_path: Path) -> None:
    w = World(tmp_path)
    d = Dispatcher(w.mt5(), _consts(tmp_path), "MT5")
    reply = msgpack.unpackb(d.handle("NoSuchFunction", msgpack.packb([])))
    assert reply == {"r": None, "err": 4001} and "NoSuchFunction" in d.failures[0]
    reply = msgpack.unpackb(d.handle("PositionGetDouble", msgpack.packb([999])))
    assert reply["err"] == 4001 and "none of the expected constants" in d.failures[1]


def test_header_values_are_checked_against_metatrader(tmp_path: Path) -> None:
    p = tmp_path / "api_mql5.hpp"
    p.write_text("enum ENUM_DEAL_ENTRY { DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_OUT_BY, DEAL_ENTRY_INOUT };")
    problems = check_against_simulator(Constants.from_headers([p]))
    assert problems == ["DEAL_ENTRY_INOUT: header 3, MetaTrader 2", "DEAL_ENTRY_OUT_BY: header 2, MetaTrader 3"]


def test_header_conditionals_follow_the_branch(tmp_path: Path) -> None:
    p = tmp_path / "api_common.hpp"
    p.write_text("#ifndef GUARD\n#define GUARD\n"
                 "enum ENUM_X { X_A,\n#ifdef __MQL5__\n X_FIVE,\n#else\n X_FOUR,\n#endif\n X_LAST };\n#endif\n")
    five = Constants.from_headers([p], {"__MQL5__"})
    four = Constants.from_headers([p], {"__MQL4__"})
    assert five.enums["ENUM_X"] == ["X_A", "X_FIVE", "X_LAST"] and five.value("X_LAST") == 2
    assert four.enums["ENUM_X"] == ["X_A", "X_FOUR", "X_LAST"] and four.value("X_FOUR") == 1
