"""simulator.mt5 constants and records against the MetaTrader5 package's documented values."""

import simulator.mt5 as mt5

# name -> value, from the MetaTrader5 / MQL5 documentation
DOCUMENTED = {
    "TRADE_RETCODE_REQUOTE": 10004, "TRADE_RETCODE_PLACED": 10008, "TRADE_RETCODE_DONE": 10009,
    "TRADE_RETCODE_INVALID": 10013, "TRADE_RETCODE_INVALID_VOLUME": 10014, "TRADE_RETCODE_INVALID_PRICE": 10015,
    "TRADE_RETCODE_INVALID_STOPS": 10016, "TRADE_RETCODE_MARKET_CLOSED": 10018, "TRADE_RETCODE_NO_MONEY": 10019,
    "TRADE_RETCODE_POSITION_CLOSED": 10036, "TRADE_RETCODE_HEDGE_PROHIBITED": 10046,
    "TRADE_ACTION_DEAL": 1, "TRADE_ACTION_PENDING": 5, "TRADE_ACTION_SLTP": 6, "TRADE_ACTION_MODIFY": 7,
    "TRADE_ACTION_REMOVE": 8, "TRADE_ACTION_CLOSE_BY": 10,
    "ORDER_TYPE_BUY": 0, "ORDER_TYPE_SELL": 1, "ORDER_TYPE_BUY_LIMIT": 2, "ORDER_TYPE_SELL_LIMIT": 3,
    "ORDER_TYPE_BUY_STOP": 4, "ORDER_TYPE_SELL_STOP": 5, "ORDER_TYPE_BUY_STOP_LIMIT": 6,
    "ORDER_TYPE_SELL_STOP_LIMIT": 7, "ORDER_TYPE_CLOSE_BY": 8,
    "ORDER_FILLING_FOK": 0, "ORDER_FILLING_IOC": 1, "ORDER_FILLING_RETURN": 2,
    "ORDER_TIME_GTC": 0, "ORDER_TIME_DAY": 1, "ORDER_TIME_SPECIFIED": 2, "ORDER_TIME_SPECIFIED_DAY": 3,
    "ORDER_STATE_PLACED": 1, "ORDER_STATE_FILLED": 4, "ORDER_STATE_REQUEST_CANCEL": 9,
    "POSITION_TYPE_BUY": 0, "POSITION_TYPE_SELL": 1, "POSITION_REASON_EXPERT": 3,
    "DEAL_TYPE_BUY": 0, "DEAL_TYPE_SELL": 1, "DEAL_TYPE_BALANCE": 2, "DEAL_TYPE_COMMISSION": 7,
    "DEAL_ENTRY_IN": 0, "DEAL_ENTRY_OUT": 1, "DEAL_ENTRY_INOUT": 2, "DEAL_ENTRY_OUT_BY": 3,
    "DEAL_REASON_CLIENT": 0, "DEAL_REASON_EXPERT": 3, "DEAL_REASON_SL": 4, "DEAL_REASON_TP": 5,
    "DEAL_REASON_SO": 6, "DEAL_REASON_ROLLOVER": 7,
    "ACCOUNT_TRADE_MODE_DEMO": 0, "ACCOUNT_TRADE_MODE_CONTEST": 1, "ACCOUNT_TRADE_MODE_REAL": 2,
    "ACCOUNT_STOPOUT_MODE_PERCENT": 0, "ACCOUNT_STOPOUT_MODE_MONEY": 1,
    "ACCOUNT_MARGIN_MODE_RETAIL_NETTING": 0, "ACCOUNT_MARGIN_MODE_EXCHANGE": 1,
    "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING": 2,
    "SYMBOL_CALC_MODE_FOREX": 0, "SYMBOL_CALC_MODE_CFDLEVERAGE": 4, "SYMBOL_CALC_MODE_EXCH_STOCKS": 32,
    "SYMBOL_TRADE_MODE_DISABLED": 0, "SYMBOL_TRADE_MODE_FULL": 4, "SYMBOL_SWAP_MODE_POINTS": 1,
    "SYMBOL_SWAP_MODE_REOPEN_BID": 8, "SYMBOL_FILLING_FOK": 1, "SYMBOL_FILLING_IOC": 2,
    "SYMBOL_TRADE_EXECUTION_MARKET": 2, "DAY_OF_WEEK_WEDNESDAY": 3,
    "TIMEFRAME_M1": 1, "TIMEFRAME_M5": 5, "TIMEFRAME_M30": 30, "TIMEFRAME_H1": 16385, "TIMEFRAME_H4": 16388,
    "TIMEFRAME_H12": 16396, "TIMEFRAME_D1": 16408, "TIMEFRAME_W1": 32769, "TIMEFRAME_MN1": 49153,
    "COPY_TICKS_ALL": -1, "COPY_TICKS_INFO": 1, "COPY_TICKS_TRADE": 2,
    "TICK_FLAG_BID": 2, "TICK_FLAG_ASK": 4, "TICK_FLAG_LAST": 8, "TICK_FLAG_VOLUME": 16, "TICK_FLAG_BUY": 32,
    "TICK_FLAG_SELL": 64,
    "RES_S_OK": 1, "RES_E_FAIL": -1, "RES_E_INVALID_PARAMS": -2, "RES_E_NOT_FOUND": -4,
    "RES_E_AUTH_FAILED": -6, "RES_E_INTERNAL_FAIL": -10000, "RES_E_INTERNAL_FAIL_CONNECT": -10004,
}


def test_constants_have_the_documented_values():
    wrong = {k: getattr(mt5, k, None) for k, v in DOCUMENTED.items() if getattr(mt5, k, None) != v}
    assert wrong == {}


def test_retcodes_are_the_servers_own():
    from simulator.server import retcodes
    assert mt5.TRADE_RETCODE_DONE is retcodes.TRADE_RETCODE_DONE


def test_record_fields_in_the_real_order():
    assert mt5.TradePosition._fields[:6] == ("ticket", "time", "time_msc", "time_update", "time_update_msc", "type")
    assert mt5.TradePosition._fields[-3:] == ("symbol", "comment", "external_id")
    assert mt5.Tick._fields == ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real")
    assert mt5.OrderSendResult._fields == ("retcode", "deal", "order", "volume", "price", "bid", "ask", "comment",
                                           "request_id", "retcode_external", "request")
    assert mt5.OrderCheckResult._fields[0] == "retcode" and mt5.OrderCheckResult._fields[-1] == "request"
    assert mt5.TradeRequest._fields == ("action", "magic", "order", "symbol", "volume", "price", "stoplimit", "sl",
                                        "tp", "deviation", "type", "type_filling", "type_time", "expiration",
                                        "comment", "position", "position_by")
    assert mt5.AccountInfo._fields[:3] == ("login", "trade_mode", "leverage") and len(mt5.AccountInfo._fields) == 28
    assert mt5.TradeDeal._fields[:4] == ("ticket", "order", "time", "time_msc")
    assert mt5.SymbolInfo._fields[0] == "custom" and mt5.SymbolInfo._fields[-1] == "path"
