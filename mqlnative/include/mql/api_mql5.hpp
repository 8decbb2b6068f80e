// mqlnative: the MQL5-only terminal API (MQL5 Reference: Trade Functions, Trade Constants,
// Data Structures). Included by api_common.hpp when __MQL5__ is defined.
#pragma once

//+------------------------------------------------------------------+
//| Trade constants                                                  |
//+------------------------------------------------------------------+
enum ENUM_ACCOUNT_MARGIN_MODE : int {
    ACCOUNT_MARGIN_MODE_RETAIL_NETTING = 0,
    ACCOUNT_MARGIN_MODE_EXCHANGE = 1,
    ACCOUNT_MARGIN_MODE_RETAIL_HEDGING = 2,
};

enum ENUM_ORDER_TYPE : int {
    ORDER_TYPE_BUY = 0,
    ORDER_TYPE_SELL = 1,
    ORDER_TYPE_BUY_LIMIT = 2,
    ORDER_TYPE_SELL_LIMIT = 3,
    ORDER_TYPE_BUY_STOP = 4,
    ORDER_TYPE_SELL_STOP = 5,
    ORDER_TYPE_BUY_STOP_LIMIT = 6,
    ORDER_TYPE_SELL_STOP_LIMIT = 7,
    ORDER_TYPE_CLOSE_BY = 8,
};

enum ENUM_ORDER_TYPE_FILLING : int {
    ORDER_FILLING_FOK = 0,
    ORDER_FILLING_IOC = 1,
    ORDER_FILLING_RETURN = 2,
    ORDER_FILLING_BOC = 3,
};

enum ENUM_ORDER_TYPE_TIME : int {
    ORDER_TIME_GTC = 0,
    ORDER_TIME_DAY = 1,
    ORDER_TIME_SPECIFIED = 2,
    ORDER_TIME_SPECIFIED_DAY = 3,
};

enum ENUM_ORDER_STATE : int {
    ORDER_STATE_STARTED = 0,
    ORDER_STATE_PLACED = 1,
    ORDER_STATE_CANCELED = 2,
    ORDER_STATE_PARTIAL = 3,
    ORDER_STATE_FILLED = 4,
    ORDER_STATE_REJECTED = 5,
    ORDER_STATE_EXPIRED = 6,
    ORDER_STATE_REQUEST_ADD = 7,
    ORDER_STATE_REQUEST_MODIFY = 8,
    ORDER_STATE_REQUEST_CANCEL = 9,
};

enum ENUM_ORDER_REASON : int {
    ORDER_REASON_CLIENT = 0,
    ORDER_REASON_MOBILE = 1,
    ORDER_REASON_WEB = 2,
    ORDER_REASON_EXPERT = 3,
    ORDER_REASON_SL = 4,
    ORDER_REASON_TP = 5,
    ORDER_REASON_SO = 6,
};

enum ENUM_ORDER_PROPERTY_INTEGER : int {
    ORDER_TICKET = 0,
    ORDER_TIME_SETUP = 1,
    ORDER_TYPE = 2,
    ORDER_STATE = 3,
    ORDER_TIME_EXPIRATION = 4,
    ORDER_TIME_DONE = 5,
    ORDER_TIME_SETUP_MSC = 6,
    ORDER_TIME_DONE_MSC = 7,
    ORDER_TYPE_FILLING = 8,
    ORDER_TYPE_TIME = 9,
    ORDER_MAGIC = 10,
    ORDER_REASON = 11,
    ORDER_POSITION_ID = 12,
    ORDER_POSITION_BY_ID = 13,
};

enum ENUM_ORDER_PROPERTY_DOUBLE : int {
    ORDER_VOLUME_INITIAL = 0,
    ORDER_VOLUME_CURRENT = 1,
    ORDER_PRICE_OPEN = 2,
    ORDER_SL = 3,
    ORDER_TP = 4,
    ORDER_PRICE_CURRENT = 5,
    ORDER_PRICE_STOPLIMIT = 6,
};

enum ENUM_ORDER_PROPERTY_STRING : int {
    ORDER_SYMBOL = 0,
    ORDER_COMMENT = 1,
    ORDER_EXTERNAL_ID = 2,
};

enum ENUM_POSITION_TYPE : int {
    POSITION_TYPE_BUY = 0,
    POSITION_TYPE_SELL = 1,
};

enum ENUM_POSITION_REASON : int {
    POSITION_REASON_CLIENT = 0,
    POSITION_REASON_MOBILE = 1,
    POSITION_REASON_WEB = 2,
    POSITION_REASON_EXPERT = 3,
};

enum ENUM_POSITION_PROPERTY_INTEGER : int {
    POSITION_TICKET = 0,
    POSITION_TIME = 1,
    POSITION_TIME_MSC = 2,
    POSITION_TIME_UPDATE = 3,
    POSITION_TIME_UPDATE_MSC = 4,
    POSITION_TYPE = 5,
    POSITION_MAGIC = 6,
    POSITION_IDENTIFIER = 7,
    POSITION_REASON = 8,
};

enum ENUM_POSITION_PROPERTY_DOUBLE : int {
    POSITION_VOLUME = 0,
    POSITION_PRICE_OPEN = 1,
    POSITION_SL = 2,
    POSITION_TP = 3,
    POSITION_PRICE_CURRENT = 4,
    POSITION_SWAP = 5,
    POSITION_PROFIT = 6,
};

enum ENUM_POSITION_PROPERTY_STRING : int {
    POSITION_SYMBOL = 0,
    POSITION_COMMENT = 1,
    POSITION_EXTERNAL_ID = 2,
};

enum ENUM_DEAL_TYPE : int {
    DEAL_TYPE_BUY = 0,
    DEAL_TYPE_SELL = 1,
    DEAL_TYPE_BALANCE = 2,
    DEAL_TYPE_CREDIT = 3,
    DEAL_TYPE_CHARGE = 4,
    DEAL_TYPE_CORRECTION = 5,
    DEAL_TYPE_BONUS = 6,
    DEAL_TYPE_COMMISSION = 7,
    DEAL_TYPE_COMMISSION_DAILY = 8,
    DEAL_TYPE_COMMISSION_MONTHLY = 9,
    DEAL_TYPE_COMMISSION_AGENT_DAILY = 10,
    DEAL_TYPE_COMMISSION_AGENT_MONTHLY = 11,
    DEAL_TYPE_INTEREST = 12,
    DEAL_TYPE_BUY_CANCELED = 13,
    DEAL_TYPE_SELL_CANCELED = 14,
    DEAL_DIVIDEND = 15,
    DEAL_DIVIDEND_FRANKED = 16,
    DEAL_TAX = 17,
};

enum ENUM_DEAL_ENTRY : int {
    DEAL_ENTRY_IN = 0,
    DEAL_ENTRY_OUT = 1,
    DEAL_ENTRY_INOUT = 2,
    DEAL_ENTRY_OUT_BY = 3,
};

enum ENUM_DEAL_REASON : int {
    DEAL_REASON_CLIENT = 0,
    DEAL_REASON_MOBILE = 1,
    DEAL_REASON_WEB = 2,
    DEAL_REASON_EXPERT = 3,
    DEAL_REASON_SL = 4,
    DEAL_REASON_TP = 5,
    DEAL_REASON_SO = 6,
    DEAL_REASON_ROLLOVER = 7,
    DEAL_REASON_VMARGIN = 8,
    DEAL_REASON_SPLIT = 9,
    DEAL_REASON_CORPORATE_ACTION = 10,
};

enum ENUM_DEAL_PROPERTY_INTEGER : int {
    DEAL_TICKET = 0,
    DEAL_ORDER = 1,
    DEAL_TIME = 2,
    DEAL_TIME_MSC = 3,
    DEAL_TYPE = 4,
    DEAL_ENTRY = 5,
    DEAL_MAGIC = 6,
    DEAL_REASON = 7,
    DEAL_POSITION_ID = 8,
};

enum ENUM_DEAL_PROPERTY_DOUBLE : int {
    DEAL_VOLUME = 0,
    DEAL_PRICE = 1,
    DEAL_COMMISSION = 2,
    DEAL_SWAP = 3,
    DEAL_PROFIT = 4,
    DEAL_FEE = 5,
    DEAL_SL = 6,
    DEAL_TP = 7,
};

enum ENUM_DEAL_PROPERTY_STRING : int {
    DEAL_SYMBOL = 0,
    DEAL_COMMENT = 1,
    DEAL_EXTERNAL_ID = 2,
};

enum ENUM_TRADE_REQUEST_ACTIONS : int {
    TRADE_ACTION_DEAL = 1,
    TRADE_ACTION_PENDING = 5,
    TRADE_ACTION_SLTP = 6,
    TRADE_ACTION_MODIFY = 7,
    TRADE_ACTION_REMOVE = 8,
    TRADE_ACTION_CLOSE_BY = 10,
};

enum ENUM_TRADE_TRANSACTION_TYPE : int {
    TRADE_TRANSACTION_ORDER_ADD = 0,
    TRADE_TRANSACTION_ORDER_UPDATE = 1,
    TRADE_TRANSACTION_ORDER_DELETE = 2,
    TRADE_TRANSACTION_HISTORY_ADD = 3,
    TRADE_TRANSACTION_HISTORY_UPDATE = 4,
    TRADE_TRANSACTION_HISTORY_DELETE = 5,
    TRADE_TRANSACTION_DEAL_ADD = 6,
    TRADE_TRANSACTION_DEAL_UPDATE = 7,
    TRADE_TRANSACTION_DEAL_DELETE = 8,
    TRADE_TRANSACTION_POSITION = 9,
    TRADE_TRANSACTION_REQUEST = 10,
};

// Trade server return codes (MQL5 Reference: Constants > Codes of Errors and Warnings)
const int TRADE_RETCODE_REQUOTE = 10004;
const int TRADE_RETCODE_REJECT = 10006;
const int TRADE_RETCODE_CANCEL = 10007;
const int TRADE_RETCODE_PLACED = 10008;
const int TRADE_RETCODE_DONE = 10009;
const int TRADE_RETCODE_DONE_PARTIAL = 10010;
const int TRADE_RETCODE_ERROR = 10011;
const int TRADE_RETCODE_TIMEOUT = 10012;
const int TRADE_RETCODE_INVALID = 10013;
const int TRADE_RETCODE_INVALID_VOLUME = 10014;
const int TRADE_RETCODE_INVALID_PRICE = 10015;
const int TRADE_RETCODE_INVALID_STOPS = 10016;
const int TRADE_RETCODE_TRADE_DISABLED = 10017;
const int TRADE_RETCODE_MARKET_CLOSED = 10018;
const int TRADE_RETCODE_NO_MONEY = 10019;
const int TRADE_RETCODE_PRICE_CHANGED = 10020;
const int TRADE_RETCODE_PRICE_OFF = 10021;
const int TRADE_RETCODE_INVALID_EXPIRATION = 10022;
const int TRADE_RETCODE_ORDER_CHANGED = 10023;
const int TRADE_RETCODE_TOO_MANY_REQUESTS = 10024;
const int TRADE_RETCODE_NO_CHANGES = 10025;
const int TRADE_RETCODE_SERVER_DISABLES_AT = 10026;
const int TRADE_RETCODE_CLIENT_DISABLES_AT = 10027;
const int TRADE_RETCODE_LOCKED = 10028;
const int TRADE_RETCODE_FROZEN = 10029;
const int TRADE_RETCODE_INVALID_FILL = 10030;
const int TRADE_RETCODE_CONNECTION = 10031;
const int TRADE_RETCODE_ONLY_REAL = 10032;
const int TRADE_RETCODE_LIMIT_ORDERS = 10033;
const int TRADE_RETCODE_LIMIT_VOLUME = 10034;
const int TRADE_RETCODE_INVALID_ORDER = 10035;
const int TRADE_RETCODE_POSITION_CLOSED = 10036;
const int TRADE_RETCODE_INVALID_CLOSE_VOLUME = 10038;
const int TRADE_RETCODE_CLOSE_ORDER_EXIST = 10039;
const int TRADE_RETCODE_LIMIT_POSITIONS = 10040;
const int TRADE_RETCODE_REJECT_CANCEL = 10041;
const int TRADE_RETCODE_LONG_ONLY = 10042;
const int TRADE_RETCODE_SHORT_ONLY = 10043;
const int TRADE_RETCODE_CLOSE_ONLY = 10044;
const int TRADE_RETCODE_FIFO_CLOSE = 10045;
const int TRADE_RETCODE_HEDGE_PROHIBITED = 10046;

// Runtime errors of the terminal API (MQL5 Reference: Runtime Errors)
const int ERR_MARKET_UNKNOWN_SYMBOL = 4301;
const int ERR_MARKET_NOT_SELECTED = 4302;
const int ERR_MARKET_WRONG_PROPERTY = 4303;
const int ERR_MARKET_LASTTIME_UNKNOWN = 4304;
const int ERR_MARKET_SELECT_ERROR = 4305;
const int ERR_GLOBALVARIABLE_NOT_FOUND = 4501;
const int ERR_GLOBALVARIABLE_EXISTS = 4502;
const int ERR_GLOBALVARIABLE_NOT_MODIFIED = 4503;
const int ERR_GLOBALVARIABLE_CANNOTREAD = 4504;
const int ERR_GLOBALVARIABLE_CANNOTWRITE = 4505;
const int ERR_TRADE_WRONG_PROPERTY = 4751;
const int ERR_TRADE_DISABLED = 4752;
const int ERR_TRADE_POSITION_NOT_FOUND = 4753;
const int ERR_TRADE_ORDER_NOT_FOUND = 4754;
const int ERR_TRADE_DEAL_NOT_FOUND = 4755;
const int ERR_TRADE_SEND_FAILED = 4756;
const int ERR_TRADE_CALC_FAILED = 4758;
const int ERR_TOO_MANY_FILES = 5001;
const int ERR_WRONG_FILENAME = 5002;
const int ERR_TOO_LONG_FILENAME = 5003;
const int ERR_CANNOT_OPEN_FILE = 5004;
const int ERR_FILE_CACHEBUFFER_ERROR = 5005;
const int ERR_CANNOT_DELETE_FILE = 5006;
const int ERR_INVALID_FILEHANDLE = 5007;
const int ERR_WRONG_FILEHANDLE = 5008;
const int ERR_FILE_NOTTOWRITE = 5009;
const int ERR_FILE_NOTTOREAD = 5010;
const int ERR_FILE_NOTBIN = 5011;
const int ERR_FILE_NOTTXT = 5012;
const int ERR_FILE_NOTTXTORCSV = 5013;
const int ERR_FILE_NOTCSV = 5014;
const int ERR_FILE_READERROR = 5015;
const int ERR_FILE_BINSTRINGSIZE = 5016;
const int ERR_INCOMPATIBLE_FILE = 5017;
const int ERR_FILE_IS_DIRECTORY = 5018;
const int ERR_FILE_NOT_EXIST = 5019;
const int ERR_FILE_CANNOT_REWRITE = 5020;
const int ERR_WRONG_DIRECTORYNAME = 5021;
const int ERR_DIRECTORY_NOT_EXIST = 5022;
const int ERR_FILE_ISNOT_DIRECTORY = 5023;
const int ERR_CANNOT_DELETE_DIRECTORY = 5024;
const int ERR_CANNOT_CLEAN_DIRECTORY = 5025;
const int ERR_FILE_WRITEERROR = 5026;
const int ERR_FILE_ENDOFFILE = 5027;

//+------------------------------------------------------------------+
//| Trade structures (MQL5 Reference: Data Structures)               |
//+------------------------------------------------------------------+
struct MqlTradeRequest {
    ENUM_TRADE_REQUEST_ACTIONS action = (ENUM_TRADE_REQUEST_ACTIONS)0;
    ulong magic = 0;
    ulong order = 0;
    string symbol;
    double volume = 0.0;
    double price = 0.0;
    double stoplimit = 0.0;
    double sl = 0.0;
    double tp = 0.0;
    ulong deviation = 0;
    ENUM_ORDER_TYPE type = ORDER_TYPE_BUY;
    ENUM_ORDER_TYPE_FILLING type_filling = ORDER_FILLING_FOK;
    ENUM_ORDER_TYPE_TIME type_time = ORDER_TIME_GTC;
    datetime expiration = 0;
    string comment;
    ulong position = 0;
    ulong position_by = 0;
};

struct MqlTradeResult {
    uint retcode = 0;
    ulong deal = 0;
    ulong order = 0;
    double volume = 0.0;
    double price = 0.0;
    double bid = 0.0;
    double ask = 0.0;
    string comment;
    uint request_id = 0;
    int retcode_external = 0;
};

struct MqlTradeCheckResult {
    uint retcode = 0;
    double balance = 0.0;
    double equity = 0.0;
    double profit = 0.0;
    double margin = 0.0;
    double margin_free = 0.0;
    double margin_level = 0.0;
    string comment;
};

struct MqlTradeTransaction {
    ulong deal = 0;
    ulong order = 0;
    string symbol;
    ENUM_TRADE_TRANSACTION_TYPE type = TRADE_TRANSACTION_ORDER_ADD;
    ENUM_ORDER_TYPE order_type = ORDER_TYPE_BUY;
    ENUM_ORDER_STATE order_state = ORDER_STATE_STARTED;
    ENUM_DEAL_TYPE deal_type = DEAL_TYPE_BUY;
    ENUM_ORDER_TYPE_TIME time_type = ORDER_TIME_GTC;
    datetime time_expiration = 0;
    double price = 0.0;
    double price_trigger = 0.0;
    double price_sl = 0.0;
    double price_tp = 0.0;
    double volume = 0.0;
    ulong position = 0;
    ulong position_by = 0;
};

//+------------------------------------------------------------------+
//| Time                                                             |
//+------------------------------------------------------------------+
datetime TimeTradeServer();
datetime TimeTradeServer(MqlDateTime& dt_struct);

//+------------------------------------------------------------------+
//| Trade functions                                                  |
//+------------------------------------------------------------------+
bool OrderCalcMargin(ENUM_ORDER_TYPE action, const string& symbol, double volume, double price, double& margin);
bool OrderCalcProfit(ENUM_ORDER_TYPE action, const string& symbol, double volume, double price_open,
                     double price_close, double& profit);
// The references write `MqlTradeRequest& request` [in]; the standard library passes a const
// request (CTrade::OrderSend), so the terminal accepts one: const here, or Trade.mqh could not compile.
bool OrderCheck(const MqlTradeRequest& request, MqlTradeCheckResult& result);
bool OrderSend(const MqlTradeRequest& request, MqlTradeResult& result);
bool OrderSendAsync(const MqlTradeRequest& request, MqlTradeResult& result);

int PositionsTotal();
string PositionGetSymbol(int index);
bool PositionSelect(const string& symbol);
bool PositionSelectByTicket(ulong ticket);
ulong PositionGetTicket(int index);
double PositionGetDouble(ENUM_POSITION_PROPERTY_DOUBLE property_id);
bool PositionGetDouble(ENUM_POSITION_PROPERTY_DOUBLE property_id, double& double_var);
long PositionGetInteger(ENUM_POSITION_PROPERTY_INTEGER property_id);
bool PositionGetInteger(ENUM_POSITION_PROPERTY_INTEGER property_id, long& long_var);
string PositionGetString(ENUM_POSITION_PROPERTY_STRING property_id);
bool PositionGetString(ENUM_POSITION_PROPERTY_STRING property_id, string& string_var);

int OrdersTotal();
ulong OrderGetTicket(int index);
bool OrderSelect(ulong ticket);
double OrderGetDouble(ENUM_ORDER_PROPERTY_DOUBLE property_id);
bool OrderGetDouble(ENUM_ORDER_PROPERTY_DOUBLE property_id, double& double_var);
long OrderGetInteger(ENUM_ORDER_PROPERTY_INTEGER property_id);
bool OrderGetInteger(ENUM_ORDER_PROPERTY_INTEGER property_id, long& long_var);
string OrderGetString(ENUM_ORDER_PROPERTY_STRING property_id);
bool OrderGetString(ENUM_ORDER_PROPERTY_STRING property_id, string& string_var);

bool HistorySelect(datetime from_date, datetime to_date);
bool HistorySelectByPosition(long position_id);
bool HistoryOrderSelect(ulong ticket);
int HistoryOrdersTotal();
ulong HistoryOrderGetTicket(int index);
double HistoryOrderGetDouble(ulong ticket_number, ENUM_ORDER_PROPERTY_DOUBLE property_id);
bool HistoryOrderGetDouble(ulong ticket_number, ENUM_ORDER_PROPERTY_DOUBLE property_id, double& double_var);
long HistoryOrderGetInteger(ulong ticket_number, ENUM_ORDER_PROPERTY_INTEGER property_id);
bool HistoryOrderGetInteger(ulong ticket_number, ENUM_ORDER_PROPERTY_INTEGER property_id, long& long_var);
string HistoryOrderGetString(ulong ticket_number, ENUM_ORDER_PROPERTY_STRING property_id);
bool HistoryOrderGetString(ulong ticket_number, ENUM_ORDER_PROPERTY_STRING property_id, string& string_var);
bool HistoryDealSelect(ulong ticket);
int HistoryDealsTotal();
ulong HistoryDealGetTicket(int index);
double HistoryDealGetDouble(ulong ticket_number, ENUM_DEAL_PROPERTY_DOUBLE property_id);
bool HistoryDealGetDouble(ulong ticket_number, ENUM_DEAL_PROPERTY_DOUBLE property_id, double& double_var);
long HistoryDealGetInteger(ulong ticket_number, ENUM_DEAL_PROPERTY_INTEGER property_id);
bool HistoryDealGetInteger(ulong ticket_number, ENUM_DEAL_PROPERTY_INTEGER property_id, long& long_var);
string HistoryDealGetString(ulong ticket_number, ENUM_DEAL_PROPERTY_STRING property_id);
bool HistoryDealGetString(ulong ticket_number, ENUM_DEAL_PROPERTY_STRING property_id, string& string_var);
