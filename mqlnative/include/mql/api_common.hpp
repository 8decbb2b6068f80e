// mqlnative: the MQL terminal API both platforms share, with the signatures, enumerations and
// constants of the MQL4 and MQL5 references. Included by mql/prelude.hpp after the language core.
// Only what the references document is declared: a call the references do not have must fail the
// compile check. Identifiers whose numbers the references give keep them (flags, error codes,
// MODE_*); the numbers of property identifiers are not documented, so mqlnative numbers them and
// the host decodes them by name (mqlnative/host/constants.py reads them from these headers).
// Format rule for that reader: one `NAME = value,` per line inside enums, `const int NAME = value;`.
// Implementations: mqlnative/runtime/*.cpp (host calls, files natively). docs/mql-runtime.md.
// The language constants (INVALID_HANDLE, clrNONE, CP_UTF8, ERR_SUCCESS/ERR_NO_ERROR, ...) are core.hpp's.
#pragma once

//+------------------------------------------------------------------+
//| Program start and stop                                           |
//+------------------------------------------------------------------+
enum ENUM_INIT_RETCODE : int {
    INIT_SUCCEEDED = 0,
    INIT_FAILED = 1,
    INIT_PARAMETERS_INCORRECT = 2,
    INIT_AGENT_NOT_SUITABLE = 3,
};

// Uninitialization reason codes (UninitializeReason, OnDeinit's reason)
const int REASON_PROGRAM = 0;
const int REASON_REMOVE = 1;
const int REASON_RECOMPILE = 2;
const int REASON_CHARTCHANGE = 3;
const int REASON_CHARTCLOSE = 4;
const int REASON_PARAMETERS = 5;
const int REASON_ACCOUNT = 6;
const int REASON_TEMPLATE = 7;
const int REASON_INITFAILED = 8;
const int REASON_CLOSE = 9;

// Alert (a window and the journal) and Comment (the chart's corner) have no screen here: their
// text goes to the log like Print's (the host's "Print"), formatted as Print formats it.
template <class... A>
void Alert(const A&... args) { Print(args...); }
template <class... A>
void Comment(const A&... args) { Print(args...); }

bool IsStopped();
void ExpertRemove();
int UninitializeReason();
void Sleep(int milliseconds);
uint GetTickCount();
ulong GetMicrosecondCount();

//+------------------------------------------------------------------+
//| Account                                                          |
//+------------------------------------------------------------------+
enum ENUM_ACCOUNT_INFO_INTEGER : int {
    ACCOUNT_LOGIN = 0,
    ACCOUNT_TRADE_MODE = 1,
    ACCOUNT_LEVERAGE = 2,
    ACCOUNT_LIMIT_ORDERS = 3,
    ACCOUNT_MARGIN_SO_MODE = 4,
    ACCOUNT_TRADE_ALLOWED = 5,
    ACCOUNT_TRADE_EXPERT = 6,
#ifdef __MQL5__
    ACCOUNT_MARGIN_MODE = 7,
    ACCOUNT_CURRENCY_DIGITS = 8,
    ACCOUNT_FIFO_CLOSE = 9,
    ACCOUNT_HEDGE_ALLOWED = 10,
#endif
};

enum ENUM_ACCOUNT_INFO_DOUBLE : int {
    ACCOUNT_BALANCE = 0,
    ACCOUNT_CREDIT = 1,
    ACCOUNT_PROFIT = 2,
    ACCOUNT_EQUITY = 3,
    ACCOUNT_MARGIN = 4,
    ACCOUNT_MARGIN_FREE = 5,
    ACCOUNT_MARGIN_LEVEL = 6,
    ACCOUNT_MARGIN_SO_CALL = 7,
    ACCOUNT_MARGIN_SO_SO = 8,
    ACCOUNT_MARGIN_INITIAL = 9,
    ACCOUNT_MARGIN_MAINTENANCE = 10,
    ACCOUNT_ASSETS = 11,
    ACCOUNT_LIABILITIES = 12,
    ACCOUNT_COMMISSION_BLOCKED = 13,
};

enum ENUM_ACCOUNT_INFO_STRING : int {
    ACCOUNT_NAME = 0,
    ACCOUNT_SERVER = 1,
    ACCOUNT_CURRENCY = 2,
    ACCOUNT_COMPANY = 3,
};

enum ENUM_ACCOUNT_TRADE_MODE : int {
    ACCOUNT_TRADE_MODE_DEMO = 0,
    ACCOUNT_TRADE_MODE_CONTEST = 1,
    ACCOUNT_TRADE_MODE_REAL = 2,
};

enum ENUM_ACCOUNT_STOPOUT_MODE : int {
    ACCOUNT_STOPOUT_MODE_PERCENT = 0,
    ACCOUNT_STOPOUT_MODE_MONEY = 1,
};

double AccountInfoDouble(ENUM_ACCOUNT_INFO_DOUBLE property_id);
long AccountInfoInteger(ENUM_ACCOUNT_INFO_INTEGER property_id);
string AccountInfoString(ENUM_ACCOUNT_INFO_STRING property_id);

//+------------------------------------------------------------------+
//| Symbols and quotes                                               |
//+------------------------------------------------------------------+
enum ENUM_SYMBOL_INFO_INTEGER : int {
    SYMBOL_SELECT = 0,
    SYMBOL_VISIBLE = 1,
    SYMBOL_SESSION_DEALS = 2,
    SYMBOL_SESSION_BUY_ORDERS = 3,
    SYMBOL_SESSION_SELL_ORDERS = 4,
    SYMBOL_VOLUME = 5,
    SYMBOL_VOLUMEHIGH = 6,
    SYMBOL_VOLUMELOW = 7,
    SYMBOL_TIME = 8,
    SYMBOL_DIGITS = 9,
    SYMBOL_SPREAD_FLOAT = 10,
    SYMBOL_SPREAD = 11,
    SYMBOL_TRADE_CALC_MODE = 12,
    SYMBOL_TRADE_MODE = 13,
    SYMBOL_START_TIME = 14,
    SYMBOL_EXPIRATION_TIME = 15,
    SYMBOL_TRADE_STOPS_LEVEL = 16,
    SYMBOL_TRADE_FREEZE_LEVEL = 17,
    SYMBOL_TRADE_EXEMODE = 18,
    SYMBOL_SWAP_MODE = 19,
    SYMBOL_SWAP_ROLLOVER3DAYS = 20,
#ifdef __MQL5__
    SYMBOL_TIME_MSC = 21,
    SYMBOL_EXPIRATION_MODE = 22,
    SYMBOL_FILLING_MODE = 23,
    SYMBOL_ORDER_MODE = 24,
    SYMBOL_MARGIN_HEDGED_USE_LEG = 25,
    SYMBOL_EXIST = 26,
    SYMBOL_CUSTOM = 27,
#endif
};

enum ENUM_SYMBOL_INFO_DOUBLE : int {
    SYMBOL_BID = 0,
    SYMBOL_BIDHIGH = 1,
    SYMBOL_BIDLOW = 2,
    SYMBOL_ASK = 3,
    SYMBOL_ASKHIGH = 4,
    SYMBOL_ASKLOW = 5,
    SYMBOL_LAST = 6,
    SYMBOL_LASTHIGH = 7,
    SYMBOL_LASTLOW = 8,
    SYMBOL_POINT = 9,
    SYMBOL_TRADE_TICK_VALUE = 10,
    SYMBOL_TRADE_TICK_VALUE_PROFIT = 11,
    SYMBOL_TRADE_TICK_VALUE_LOSS = 12,
    SYMBOL_TRADE_TICK_SIZE = 13,
    SYMBOL_TRADE_CONTRACT_SIZE = 14,
    SYMBOL_VOLUME_MIN = 15,
    SYMBOL_VOLUME_MAX = 16,
    SYMBOL_VOLUME_STEP = 17,
    SYMBOL_VOLUME_LIMIT = 18,
    SYMBOL_SWAP_LONG = 19,
    SYMBOL_SWAP_SHORT = 20,
    SYMBOL_MARGIN_INITIAL = 21,
    SYMBOL_MARGIN_MAINTENANCE = 22,
#ifdef __MQL5__
    SYMBOL_MARGIN_HEDGED = 23,
#endif
};

enum ENUM_SYMBOL_INFO_STRING : int {
    SYMBOL_CURRENCY_BASE = 0,
    SYMBOL_CURRENCY_PROFIT = 1,
    SYMBOL_CURRENCY_MARGIN = 2,
    SYMBOL_DESCRIPTION = 3,
    SYMBOL_PATH = 4,
};

enum ENUM_SYMBOL_TRADE_EXECUTION : int {
    SYMBOL_TRADE_EXECUTION_REQUEST = 0,
    SYMBOL_TRADE_EXECUTION_INSTANT = 1,
    SYMBOL_TRADE_EXECUTION_MARKET = 2,
    SYMBOL_TRADE_EXECUTION_EXCHANGE = 3,
};

enum ENUM_SYMBOL_TRADE_MODE : int {
    SYMBOL_TRADE_MODE_DISABLED = 0,
    SYMBOL_TRADE_MODE_LONGONLY = 1,
    SYMBOL_TRADE_MODE_SHORTONLY = 2,
    SYMBOL_TRADE_MODE_CLOSEONLY = 3,
    SYMBOL_TRADE_MODE_FULL = 4,
};

#ifdef __MQL5__
// Filling flags of SYMBOL_FILLING_MODE (MQL5 Reference: "Symbol Properties", filling flags)
const int SYMBOL_FILLING_FOK = 1;
const int SYMBOL_FILLING_IOC = 2;
const int SYMBOL_FILLING_BOC = 4;
#endif

struct MqlTick {
    datetime time = 0;
    double bid = 0.0;
    double ask = 0.0;
    double last = 0.0;
    ulong volume = 0;
#ifdef __MQL5__
    long time_msc = 0;
    uint flags = 0;
    double volume_real = 0.0;
#endif
};

double SymbolInfoDouble(const string& name, ENUM_SYMBOL_INFO_DOUBLE prop_id);
bool SymbolInfoDouble(const string& name, ENUM_SYMBOL_INFO_DOUBLE prop_id, double& double_var);
long SymbolInfoInteger(const string& name, ENUM_SYMBOL_INFO_INTEGER prop_id);
bool SymbolInfoInteger(const string& name, ENUM_SYMBOL_INFO_INTEGER prop_id, long& long_var);
string SymbolInfoString(const string& name, ENUM_SYMBOL_INFO_STRING prop_id);
bool SymbolInfoString(const string& name, ENUM_SYMBOL_INFO_STRING prop_id, string& string_var);
bool SymbolInfoTick(const string& symbol, MqlTick& tick);
bool SymbolSelect(const string& name, bool select);
bool SymbolIsSynchronized(const string& name);
int SymbolsTotal(bool selected);
string SymbolName(int pos, bool selected);
string Symbol();

//+------------------------------------------------------------------+
//| Date and time (the host's virtual clock)                         |
//+------------------------------------------------------------------+
struct MqlDateTime {
    int year = 0;
    int mon = 0;
    int day = 0;
    int hour = 0;
    int min = 0;
    int sec = 0;
    int day_of_week = 0;   // 0 = Sunday
    int day_of_year = 0;   // 0 = January 1st
};

datetime TimeCurrent();
datetime TimeCurrent(MqlDateTime& dt_struct);
datetime TimeLocal();
datetime TimeLocal(MqlDateTime& dt_struct);
datetime TimeGMT();
datetime TimeGMT(MqlDateTime& dt_struct);
int TimeGMTOffset();
int TimeDaylightSavings();
bool TimeToStruct(datetime dt, MqlDateTime& dt_struct);
datetime StructToTime(MqlDateTime& dt_struct);

//+------------------------------------------------------------------+
//| Terminal and program state                                       |
//+------------------------------------------------------------------+
enum ENUM_TERMINAL_INFO_INTEGER : int {
    TERMINAL_BUILD = 0,
    TERMINAL_COMMUNITY_ACCOUNT = 1,
    TERMINAL_COMMUNITY_CONNECTION = 2,
    TERMINAL_CONNECTED = 3,
    TERMINAL_DLLS_ALLOWED = 4,
    TERMINAL_TRADE_ALLOWED = 5,
    TERMINAL_EMAIL_ENABLED = 6,
    TERMINAL_FTP_ENABLED = 7,
    TERMINAL_NOTIFICATIONS_ENABLED = 8,
    TERMINAL_MAXBARS = 9,
    TERMINAL_MQID = 10,
    TERMINAL_CODEPAGE = 11,
    TERMINAL_CPU_CORES = 12,
    TERMINAL_DISK_SPACE = 13,
    TERMINAL_MEMORY_PHYSICAL = 14,
    TERMINAL_MEMORY_TOTAL = 15,
    TERMINAL_MEMORY_AVAILABLE = 16,
    TERMINAL_MEMORY_USED = 17,
    TERMINAL_SCREEN_DPI = 18,
    TERMINAL_PING_LAST = 19,
#ifdef __MQL5__
    TERMINAL_X64 = 20,
#endif
};

enum ENUM_TERMINAL_INFO_STRING : int {
    TERMINAL_LANGUAGE = 0,
    TERMINAL_COMPANY = 1,
    TERMINAL_NAME = 2,
    TERMINAL_PATH = 3,
    TERMINAL_DATA_PATH = 4,
    TERMINAL_COMMONDATA_PATH = 5,
};

enum ENUM_MQL_INFO_INTEGER : int {
    MQL_CODEPAGE = 0,
    MQL_PROGRAM_TYPE = 1,
    MQL_DLLS_ALLOWED = 2,
    MQL_TRADE_ALLOWED = 3,
    MQL_SIGNALS_ALLOWED = 4,
    MQL_DEBUG = 5,
    MQL_PROFILER = 6,
    MQL_TESTER = 7,
    MQL_OPTIMIZATION = 8,
    MQL_VISUAL_MODE = 9,
    MQL_FRAME_MODE = 10,
    MQL_LICENSE_TYPE = 11,
};

enum ENUM_MQL_INFO_STRING : int {
    MQL_PROGRAM_NAME = 0,
    MQL_PROGRAM_PATH = 1,
};

int TerminalInfoInteger(ENUM_TERMINAL_INFO_INTEGER property_id);
string TerminalInfoString(ENUM_TERMINAL_INFO_STRING property_id);
int MQLInfoInteger(ENUM_MQL_INFO_INTEGER property_id);
string MQLInfoString(ENUM_MQL_INFO_STRING property_id);

//+------------------------------------------------------------------+
//| Timer events                                                     |
//+------------------------------------------------------------------+
bool EventSetTimer(int seconds);
bool EventSetMillisecondTimer(int milliseconds);
void EventKillTimer();

//+------------------------------------------------------------------+
//| Global variables of the terminal (shared by its programs)       |
//+------------------------------------------------------------------+
bool GlobalVariableCheck(const string& name);
datetime GlobalVariableTime(const string& name);
bool GlobalVariableDel(const string& name);
double GlobalVariableGet(const string& name);
bool GlobalVariableGet(const string& name, double& double_var);
string GlobalVariableName(int index);
datetime GlobalVariableSet(const string& name, double value);
void GlobalVariablesFlush();
bool GlobalVariableTemp(const string& name);
bool GlobalVariableSetOnCondition(const string& name, double value, double check_value);
int GlobalVariablesDeleteAll(const string& prefix_name = "", datetime limit_data = 0);
int GlobalVariablesTotal();

//+------------------------------------------------------------------+
//| Files: natively, in the terminal's MQLx/Files folder             |
//+------------------------------------------------------------------+
const int FILE_READ = 1;
const int FILE_WRITE = 2;
const int FILE_BIN = 4;
const int FILE_CSV = 8;
const int FILE_TXT = 16;
const int FILE_ANSI = 32;
const int FILE_UNICODE = 64;
const int FILE_SHARE_READ = 128;
const int FILE_SHARE_WRITE = 256;
const int FILE_REWRITE = 512;
const int FILE_COMMON = 4096;

// <cstdio> defines these as macros; MQL has them as an enumeration (same values as POSIX's).
#undef SEEK_SET
#undef SEEK_CUR
#undef SEEK_END
enum ENUM_FILE_POSITION : int {
    SEEK_SET = 0,
    SEEK_CUR = 1,
    SEEK_END = 2,
};

#ifdef __MQL5__
int FileOpen(const string& file_name, int open_flags, short delimiter = '\t', uint codepage = CP_ACP);
#else
int FileOpen(const string& file_name, int open_flags, short delimiter = ';', uint codepage = CP_ACP);
#endif
void FileClose(int file_handle);
bool FileSeek(int file_handle, long offset, ENUM_FILE_POSITION origin);
ulong FileTell(int file_handle);
ulong FileSize(int file_handle);
bool FileIsEnding(int file_handle);
void FileFlush(int file_handle);
bool FileIsExist(const string& file_name, int common_flag = 0);
bool FileDelete(const string& file_name, int common_flag = 0);
bool FileMove(const string& src_file_name, int common_flag, const string& dst_file_name, int mode_flags);
bool FileCopy(const string& src_file_name, int common_flag, const string& dst_file_name, int mode_flags);
uint FileWriteString(int file_handle, const string& text_string, int length = -1);
string FileReadString(int file_handle, int length = -1);
uint FileWriteInteger(int file_handle, int value, int size = 4);
int FileReadInteger(int file_handle, int size = 4);
uint FileWriteLong(int file_handle, long value);
long FileReadLong(int file_handle);
uint FileWriteDouble(int file_handle, double value);
double FileReadDouble(int file_handle);

#include "api_files.hpp"   // FileReadArray / FileWriteArray: templates over the array types
