// mqlnative runtime: the terminal functions both platforms share, each one host call named
// after the MQL function (docs/mql-runtime.md lists the argument and answer layouts).
#include "mql/host.hpp"

using mqln::call;
using mqln::call_r;
using mqln::out;
using mqln::ret;

//--- program start and stop
bool IsStopped() { return mqln::stopped(); }

void ExpertRemove() {
    // MQL: the program finishes its current handler, then OnDeinit runs; the host schedules it.
    mqln::mark_stopped();
    call("ExpertRemove");
}

int UninitializeReason() { return call_r<int>("UninitializeReason"); }
void Sleep(int milliseconds) { call("Sleep", milliseconds); }
uint GetTickCount() { return call_r<uint>("GetTickCount"); }
ulong GetMicrosecondCount() { return call_r<ulong>("GetMicrosecondCount"); }

//--- account
double AccountInfoDouble(ENUM_ACCOUNT_INFO_DOUBLE property_id) { return call_r<double>("AccountInfoDouble", property_id); }
long AccountInfoInteger(ENUM_ACCOUNT_INFO_INTEGER property_id) { return call_r<long>("AccountInfoInteger", property_id); }
string AccountInfoString(ENUM_ACCOUNT_INFO_STRING property_id) { return call_r<string>("AccountInfoString", property_id); }

//--- symbols
double SymbolInfoDouble(const string& name, ENUM_SYMBOL_INFO_DOUBLE prop_id) {
    return call_r<double>("SymbolInfoDouble", name, prop_id);
}
bool SymbolInfoDouble(const string& name, ENUM_SYMBOL_INFO_DOUBLE prop_id, double& double_var) {
    auto rep = call("SymbolInfoDouble", name, prop_id, double_var);
    out(rep, 2, double_var);
    return ret<bool>(rep);
}
long SymbolInfoInteger(const string& name, ENUM_SYMBOL_INFO_INTEGER prop_id) {
    return call_r<long>("SymbolInfoInteger", name, prop_id);
}
bool SymbolInfoInteger(const string& name, ENUM_SYMBOL_INFO_INTEGER prop_id, long& long_var) {
    auto rep = call("SymbolInfoInteger", name, prop_id, long_var);
    out(rep, 2, long_var);
    return ret<bool>(rep);
}
string SymbolInfoString(const string& name, ENUM_SYMBOL_INFO_STRING prop_id) {
    return call_r<string>("SymbolInfoString", name, prop_id);
}
bool SymbolInfoString(const string& name, ENUM_SYMBOL_INFO_STRING prop_id, string& string_var) {
    auto rep = call("SymbolInfoString", name, prop_id, string_var);
    out(rep, 2, string_var);
    return ret<bool>(rep);
}
bool SymbolInfoTick(const string& symbol, MqlTick& tick) {
    auto rep = call("SymbolInfoTick", symbol, tick);
    out(rep, 1, tick);
    return ret<bool>(rep);
}
bool SymbolSelect(const string& name, bool select) { return call_r<bool>("SymbolSelect", name, select); }
bool SymbolIsSynchronized(const string& name) { return call_r<bool>("SymbolIsSynchronized", name); }
int SymbolsTotal(bool selected) { return call_r<int>("SymbolsTotal", selected); }
string SymbolName(int pos, bool selected) { return call_r<string>("SymbolName", pos, selected); }
string Symbol() { return call_r<string>("Symbol"); }

//--- time
datetime TimeCurrent() { return call_r<datetime>("TimeCurrent"); }
datetime TimeLocal() { return call_r<datetime>("TimeLocal"); }
datetime TimeGMT() { return call_r<datetime>("TimeGMT"); }
// the MqlDateTime forms: the same host call, the fields natively (runtime/time.cpp)
datetime TimeCurrent(MqlDateTime& dt_struct) {
    datetime t = TimeCurrent();
    TimeToStruct(t, dt_struct);
    return t;
}
datetime TimeLocal(MqlDateTime& dt_struct) {
    datetime t = TimeLocal();
    TimeToStruct(t, dt_struct);
    return t;
}
datetime TimeGMT(MqlDateTime& dt_struct) {
    datetime t = TimeGMT();
    TimeToStruct(t, dt_struct);
    return t;
}
int TimeGMTOffset() { return call_r<int>("TimeGMTOffset"); }
int TimeDaylightSavings() { return call_r<int>("TimeDaylightSavings"); }

//--- terminal and program state
int TerminalInfoInteger(ENUM_TERMINAL_INFO_INTEGER property_id) { return call_r<int>("TerminalInfoInteger", property_id); }
string TerminalInfoString(ENUM_TERMINAL_INFO_STRING property_id) { return call_r<string>("TerminalInfoString", property_id); }
int MQLInfoInteger(ENUM_MQL_INFO_INTEGER property_id) { return call_r<int>("MQLInfoInteger", property_id); }
string MQLInfoString(ENUM_MQL_INFO_STRING property_id) { return call_r<string>("MQLInfoString", property_id); }

//--- timer
bool EventSetTimer(int seconds) { return call_r<bool>("EventSetTimer", seconds); }
bool EventSetMillisecondTimer(int milliseconds) { return call_r<bool>("EventSetMillisecondTimer", milliseconds); }
void EventKillTimer() { call("EventKillTimer"); }

//--- global variables (the host's terminal keeps them: shared by every program on the terminal)
bool GlobalVariableCheck(const string& name) { return call_r<bool>("GlobalVariableCheck", name); }
datetime GlobalVariableTime(const string& name) { return call_r<datetime>("GlobalVariableTime", name); }
bool GlobalVariableDel(const string& name) { return call_r<bool>("GlobalVariableDel", name); }
double GlobalVariableGet(const string& name) { return call_r<double>("GlobalVariableGet", name); }
bool GlobalVariableGet(const string& name, double& double_var) {
    auto rep = call("GlobalVariableGet", name, double_var);
    out(rep, 1, double_var);
    return ret<bool>(rep);
}
string GlobalVariableName(int index) { return call_r<string>("GlobalVariableName", index); }
datetime GlobalVariableSet(const string& name, double value) { return call_r<datetime>("GlobalVariableSet", name, value); }
void GlobalVariablesFlush() { call("GlobalVariablesFlush"); }
bool GlobalVariableTemp(const string& name) { return call_r<bool>("GlobalVariableTemp", name); }
bool GlobalVariableSetOnCondition(const string& name, double value, double check_value) {
    return call_r<bool>("GlobalVariableSetOnCondition", name, value, check_value);
}
int GlobalVariablesDeleteAll(const string& prefix_name, datetime limit_data) {
    return call_r<int>("GlobalVariablesDeleteAll", prefix_name, limit_data);
}
int GlobalVariablesTotal() { return call_r<int>("GlobalVariablesTotal"); }
