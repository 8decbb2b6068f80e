// mqlnative: the MQL4-only terminal API (MQL4 Reference: Trade Functions, Market Info,
// Account Information, Checkup, Predefined Variables, Runtime Errors). Included by
// api_common.hpp when __MQL5__ is not defined.
#pragma once

// Trade operations (OrderSend's cmd, OrderType())
const int OP_BUY = 0;
const int OP_SELL = 1;
const int OP_BUYLIMIT = 2;
const int OP_SELLLIMIT = 3;
const int OP_BUYSTOP = 4;
const int OP_SELLSTOP = 5;

// OrderSelect
const int SELECT_BY_POS = 0;
const int SELECT_BY_TICKET = 1;
const int MODE_TRADES = 0;
const int MODE_HISTORY = 1;

// MarketInfo identifiers (MQL4 Reference: Symbol Properties)
const int MODE_LOW = 1;
const int MODE_HIGH = 2;
const int MODE_TIME = 5;
const int MODE_BID = 9;
const int MODE_ASK = 10;
const int MODE_POINT = 11;
const int MODE_DIGITS = 12;
const int MODE_SPREAD = 13;
const int MODE_STOPLEVEL = 14;
const int MODE_LOTSIZE = 15;
const int MODE_TICKVALUE = 16;
const int MODE_TICKSIZE = 17;
const int MODE_SWAPLONG = 18;
const int MODE_SWAPSHORT = 19;
const int MODE_STARTING = 20;
const int MODE_EXPIRATION = 21;
const int MODE_TRADEALLOWED = 22;
const int MODE_MINLOT = 23;
const int MODE_LOTSTEP = 24;
const int MODE_MAXLOT = 25;
const int MODE_SWAPTYPE = 26;
const int MODE_PROFITCALCMODE = 27;
const int MODE_MARGINCALCMODE = 28;
const int MODE_MARGININIT = 29;
const int MODE_MARGINMAINTENANCE = 30;
const int MODE_MARGINHEDGED = 31;
const int MODE_MARGINREQUIRED = 32;
const int MODE_FREEZELEVEL = 33;
const int MODE_CLOSEBY_ALLOWED = 34;

// Runtime errors (MQL4 Reference: Runtime Errors; trade server codes and terminal functions)
const int ERR_NO_RESULT = 1;
const int ERR_COMMON_ERROR = 2;
const int ERR_INVALID_TRADE_PARAMETERS = 3;
const int ERR_SERVER_BUSY = 4;
const int ERR_OLD_VERSION = 5;
const int ERR_NO_CONNECTION = 6;
const int ERR_NOT_ENOUGH_RIGHTS = 7;
const int ERR_TOO_FREQUENT_REQUESTS = 8;
const int ERR_MALFUNCTIONAL_TRADE = 9;
const int ERR_ACCOUNT_DISABLED = 64;
const int ERR_INVALID_ACCOUNT = 65;
const int ERR_TRADE_TIMEOUT = 128;
const int ERR_INVALID_PRICE = 129;
const int ERR_INVALID_STOPS = 130;
const int ERR_INVALID_TRADE_VOLUME = 131;
const int ERR_MARKET_CLOSED = 132;
const int ERR_TRADE_DISABLED = 133;
const int ERR_NOT_ENOUGH_MONEY = 134;
const int ERR_PRICE_CHANGED = 135;
const int ERR_OFF_QUOTES = 136;
const int ERR_BROKER_BUSY = 137;
const int ERR_REQUOTE = 138;
const int ERR_ORDER_LOCKED = 139;
const int ERR_LONG_POSITIONS_ONLY_ALLOWED = 140;
const int ERR_TOO_MANY_REQUESTS = 141;
const int ERR_TRADE_MODIFY_DENIED = 145;
const int ERR_TRADE_CONTEXT_BUSY = 146;
const int ERR_TRADE_EXPIRATION_DENIED = 147;
const int ERR_TRADE_TOO_MANY_ORDERS = 148;
const int ERR_TRADE_HEDGE_PROHIBITED = 149;
const int ERR_TRADE_PROHIBITED_BY_FIFO = 150;
const int ERR_INVALID_FUNCTION_PARAMVALUE = 4051;
const int ERR_GLOBAL_VARIABLE_NOT_FOUND = 4058;
const int ERR_NO_ORDER_SELECTED = 4105;
const int ERR_UNKNOWN_SYMBOL = 4106;
const int ERR_INVALID_PRICE_PARAM = 4107;
const int ERR_INVALID_TICKET = 4108;
const int ERR_TRADE_NOT_ALLOWED = 4109;
const int ERR_LONGS_NOT_ALLOWED = 4110;
const int ERR_SHORTS_NOT_ALLOWED = 4111;
const int ERR_TRADE_EXPERT_DISABLED_BY_SERVER = 4112;
const int ERR_FILE_TOO_MANY_OPENED = 5001;
const int ERR_FILE_WRONG_FILENAME = 5002;
const int ERR_FILE_TOO_LONG_FILENAME = 5003;
const int ERR_FILE_CANNOT_OPEN = 5004;
const int ERR_FILE_BUFFER_ALLOCATION_ERROR = 5005;
const int ERR_FILE_CANNOT_DELETE = 5006;
const int ERR_FILE_INVALID_HANDLE = 5007;
const int ERR_FILE_WRONG_HANDLE = 5008;
const int ERR_FILE_NOT_TOWRITE = 5009;
const int ERR_FILE_NOT_TOREAD = 5010;
const int ERR_FILE_NOT_BIN = 5011;
const int ERR_FILE_NOT_TXT = 5012;
const int ERR_FILE_NOT_TXTORCSV = 5013;
const int ERR_FILE_NOT_CSV = 5014;
const int ERR_FILE_READ_ERROR = 5015;
const int ERR_FILE_WRITE_ERROR = 5016;
const int ERR_FILE_BIN_STRINGSIZE = 5017;
const int ERR_FILE_INCOMPATIBLE = 5018;
const int ERR_FILE_IS_DIRECTORY = 5019;
const int ERR_FILE_NOT_EXIST = 5020;
const int ERR_FILE_CANNOT_REWRITE = 5021;
const int ERR_FILE_WRONG_DIRECTORYNAME = 5022;
const int ERR_FILE_DIRECTORY_NOT_EXIST = 5023;
const int ERR_FILE_NOT_DIRECTORY = 5024;
const int ERR_FILE_CANNOT_DELETE_DIRECTORY = 5025;
const int ERR_FILE_CANNOT_CLEAN_DIRECTORY = 5026;

// Predefined variables of the chart symbol: refreshed before each event handler and by RefreshRates()
extern double Ask;
extern double Bid;
extern int Digits;
extern double Point;

//+------------------------------------------------------------------+
//| Trade functions                                                  |
//+------------------------------------------------------------------+
int OrderSend(const string& symbol, int cmd, double volume, double price, int slippage, double stoploss,
              double takeprofit, const string& comment = "", int magic = 0, datetime expiration = 0,
              color arrow_color = clrNONE);
bool OrderClose(int ticket, double lots, double price, int slippage, color arrow_color = clrNONE);
bool OrderCloseBy(int ticket, int opposite, color arrow_color = clrNONE);
bool OrderDelete(int ticket, color arrow_color = clrNONE);
bool OrderModify(int ticket, double price, double stoploss, double takeprofit, datetime expiration,
                 color arrow_color = clrNONE);
bool OrderSelect(int index, int select, int pool = MODE_TRADES);
int OrdersTotal();
int OrdersHistoryTotal();
double OrderClosePrice();
datetime OrderCloseTime();
string OrderComment();
double OrderCommission();
datetime OrderExpiration();
double OrderLots();
int OrderMagicNumber();
double OrderOpenPrice();
datetime OrderOpenTime();
void OrderPrint();
double OrderProfit();
double OrderStopLoss();
double OrderSwap();
string OrderSymbol();
double OrderTakeProfit();
int OrderTicket();
int OrderType();

double MarketInfo(const string& symbol, int type);
bool RefreshRates();

//+------------------------------------------------------------------+
//| Account information (MQL4 functions, over AccountInfo*)         |
//+------------------------------------------------------------------+
double AccountBalance();
double AccountCredit();
string AccountCompany();
string AccountCurrency();
double AccountEquity();
double AccountFreeMargin();
int AccountLeverage();
double AccountMargin();
string AccountName();
int AccountNumber();
double AccountProfit();
string AccountServer();

//+------------------------------------------------------------------+
//| Checkup                                                          |
//+------------------------------------------------------------------+
bool IsConnected();
bool IsDllsAllowed();
bool IsExpertEnabled();
bool IsTesting();
bool IsTradeAllowed();
bool IsTradeContextBusy();
