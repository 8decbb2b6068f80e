// mqlnative runtime: the MQL4 order pool functions, MarketInfo and the predefined chart
// variables. Order* getters read the order OrderSelect chose: the host keeps the selection.
#ifndef __MQL5__
#include "mql/host.hpp"

using mqln::call;
using mqln::call_r;

double Ask = 0.0;
double Bid = 0.0;
int Digits = 0;
double Point = 0.0;

namespace mqln {
// Bid/Ask/Digits/Point of the chart symbol; entry.hpp calls it before each event handler.
// The chart symbol of an EA instance does not change: asked once.
void refresh_predefined() {
    static string symbol = "";
    if (symbol == "") symbol = Symbol();
    Bid = SymbolInfoDouble(symbol, SYMBOL_BID);
    Ask = SymbolInfoDouble(symbol, SYMBOL_ASK);
    Point = SymbolInfoDouble(symbol, SYMBOL_POINT);
    Digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
}
}  // namespace mqln

int OrderSend(const string& symbol, int cmd, double volume, double price, int slippage, double stoploss,
              double takeprofit, const string& comment, int magic, datetime expiration, color arrow_color) {
    return call_r<int>("OrderSend", symbol, cmd, volume, price, slippage, stoploss, takeprofit, comment, magic,
                       expiration, arrow_color);
}
bool OrderClose(int ticket, double lots, double price, int slippage, color arrow_color) {
    return call_r<bool>("OrderClose", ticket, lots, price, slippage, arrow_color);
}
bool OrderCloseBy(int ticket, int opposite, color arrow_color) {
    return call_r<bool>("OrderCloseBy", ticket, opposite, arrow_color);
}
bool OrderDelete(int ticket, color arrow_color) { return call_r<bool>("OrderDelete", ticket, arrow_color); }
bool OrderModify(int ticket, double price, double stoploss, double takeprofit, datetime expiration, color arrow_color) {
    return call_r<bool>("OrderModify", ticket, price, stoploss, takeprofit, expiration, arrow_color);
}
bool OrderSelect(int index, int select, int pool) { return call_r<bool>("OrderSelect", index, select, pool); }
int OrdersTotal() { return call_r<int>("OrdersTotal"); }
int OrdersHistoryTotal() { return call_r<int>("OrdersHistoryTotal"); }
double OrderClosePrice() { return call_r<double>("OrderClosePrice"); }
datetime OrderCloseTime() { return call_r<datetime>("OrderCloseTime"); }
string OrderComment() { return call_r<string>("OrderComment"); }
double OrderCommission() { return call_r<double>("OrderCommission"); }
datetime OrderExpiration() { return call_r<datetime>("OrderExpiration"); }
double OrderLots() { return call_r<double>("OrderLots"); }
int OrderMagicNumber() { return call_r<int>("OrderMagicNumber"); }
double OrderOpenPrice() { return call_r<double>("OrderOpenPrice"); }
datetime OrderOpenTime() { return call_r<datetime>("OrderOpenTime"); }
void OrderPrint() { call("OrderPrint"); }
double OrderProfit() { return call_r<double>("OrderProfit"); }
double OrderStopLoss() { return call_r<double>("OrderStopLoss"); }
double OrderSwap() { return call_r<double>("OrderSwap"); }
string OrderSymbol() { return call_r<string>("OrderSymbol"); }
double OrderTakeProfit() { return call_r<double>("OrderTakeProfit"); }
int OrderTicket() { return call_r<int>("OrderTicket"); }
int OrderType() { return call_r<int>("OrderType"); }

double MarketInfo(const string& symbol, int type) { return call_r<double>("MarketInfo", symbol, type); }

bool RefreshRates() {
    bool changed = call_r<bool>("RefreshRates");
    mqln::refresh_predefined();
    return changed;
}

//--- MQL4 account functions: the same figures as AccountInfo*
double AccountBalance() { return AccountInfoDouble(ACCOUNT_BALANCE); }
double AccountCredit() { return AccountInfoDouble(ACCOUNT_CREDIT); }
string AccountCompany() { return AccountInfoString(ACCOUNT_COMPANY); }
string AccountCurrency() { return AccountInfoString(ACCOUNT_CURRENCY); }
double AccountEquity() { return AccountInfoDouble(ACCOUNT_EQUITY); }
double AccountFreeMargin() { return AccountInfoDouble(ACCOUNT_MARGIN_FREE); }
int AccountLeverage() { return (int)AccountInfoInteger(ACCOUNT_LEVERAGE); }
double AccountMargin() { return AccountInfoDouble(ACCOUNT_MARGIN); }
string AccountName() { return AccountInfoString(ACCOUNT_NAME); }
int AccountNumber() { return (int)AccountInfoInteger(ACCOUNT_LOGIN); }
double AccountProfit() { return AccountInfoDouble(ACCOUNT_PROFIT); }
string AccountServer() { return AccountInfoString(ACCOUNT_SERVER); }

//--- checkup: IsConnected/IsDllsAllowed/IsTesting read the same properties as their MQL5-style
//--- equivalents; trade permission and context are the host's
bool IsConnected() { return TerminalInfoInteger(TERMINAL_CONNECTED) != 0; }
bool IsDllsAllowed() { return MQLInfoInteger(MQL_DLLS_ALLOWED) != 0; }
bool IsExpertEnabled() { return TerminalInfoInteger(TERMINAL_TRADE_ALLOWED) != 0; }
bool IsTesting() { return MQLInfoInteger(MQL_TESTER) != 0; }
bool IsTradeAllowed() { return call_r<bool>("IsTradeAllowed"); }
bool IsTradeContextBusy() { return call_r<bool>("IsTradeContextBusy"); }
#endif
