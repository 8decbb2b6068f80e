// mqlnative runtime: the MQL5 trade, position, order and history functions, each one host call
// named after the MQL function. By-reference outputs come back in the answer's "out" map.
#ifdef __MQL5__
#include "mql/host.hpp"

using mqln::call;
using mqln::call_r;
using mqln::out;
using mqln::ret;

datetime TimeTradeServer() { return call_r<datetime>("TimeTradeServer"); }
datetime TimeTradeServer(MqlDateTime& dt_struct) {
    datetime t = TimeTradeServer();
    TimeToStruct(t, dt_struct);
    return t;
}

bool OrderCalcMargin(ENUM_ORDER_TYPE action, const string& symbol, double volume, double price, double& margin) {
    auto rep = call("OrderCalcMargin", action, symbol, volume, price, margin);
    out(rep, 4, margin);
    return ret<bool>(rep);
}
bool OrderCalcProfit(ENUM_ORDER_TYPE action, const string& symbol, double volume, double price_open,
                     double price_close, double& profit) {
    auto rep = call("OrderCalcProfit", action, symbol, volume, price_open, price_close, profit);
    out(rep, 5, profit);
    return ret<bool>(rep);
}
bool OrderCheck(const MqlTradeRequest& request, MqlTradeCheckResult& result) {
    auto rep = call("OrderCheck", request, result);
    out(rep, 1, result);
    return ret<bool>(rep);
}
bool OrderSend(const MqlTradeRequest& request, MqlTradeResult& result) {
    auto rep = call("OrderSend", request, result);
    out(rep, 1, result);
    return ret<bool>(rep);
}
bool OrderSendAsync(const MqlTradeRequest& request, MqlTradeResult& result) {
    auto rep = call("OrderSendAsync", request, result);
    out(rep, 1, result);
    return ret<bool>(rep);
}

// One getter pair per property kind: value-returning, and bool + by-reference variable (index 1
// for positions/orders, 2 for history with its leading ticket).
#define MQLN_GETTERS(FN, ENUM, T)                                              \
    T FN(ENUM property_id) { return call_r<T>(#FN, property_id); }             \
    bool FN(ENUM property_id, T& var) {                                        \
        auto rep = call(#FN, property_id, var);                                \
        out(rep, 1, var);                                                      \
        return ret<bool>(rep);                                                 \
    }
#define MQLN_HISTORY_GETTERS(FN, ENUM, T)                                          \
    T FN(ulong ticket_number, ENUM property_id) {                                  \
        return call_r<T>(#FN, ticket_number, property_id);                         \
    }                                                                              \
    bool FN(ulong ticket_number, ENUM property_id, T& var) {                       \
        auto rep = call(#FN, ticket_number, property_id, var);                     \
        out(rep, 2, var);                                                          \
        return ret<bool>(rep);                                                     \
    }

int PositionsTotal() { return call_r<int>("PositionsTotal"); }
string PositionGetSymbol(int index) { return call_r<string>("PositionGetSymbol", index); }
bool PositionSelect(const string& symbol) { return call_r<bool>("PositionSelect", symbol); }
bool PositionSelectByTicket(ulong ticket) { return call_r<bool>("PositionSelectByTicket", ticket); }
ulong PositionGetTicket(int index) { return call_r<ulong>("PositionGetTicket", index); }
MQLN_GETTERS(PositionGetDouble, ENUM_POSITION_PROPERTY_DOUBLE, double)
MQLN_GETTERS(PositionGetInteger, ENUM_POSITION_PROPERTY_INTEGER, long)
MQLN_GETTERS(PositionGetString, ENUM_POSITION_PROPERTY_STRING, string)

int OrdersTotal() { return call_r<int>("OrdersTotal"); }
ulong OrderGetTicket(int index) { return call_r<ulong>("OrderGetTicket", index); }
bool OrderSelect(ulong ticket) { return call_r<bool>("OrderSelect", ticket); }
MQLN_GETTERS(OrderGetDouble, ENUM_ORDER_PROPERTY_DOUBLE, double)
MQLN_GETTERS(OrderGetInteger, ENUM_ORDER_PROPERTY_INTEGER, long)
MQLN_GETTERS(OrderGetString, ENUM_ORDER_PROPERTY_STRING, string)

bool HistorySelect(datetime from_date, datetime to_date) { return call_r<bool>("HistorySelect", from_date, to_date); }
bool HistorySelectByPosition(long position_id) { return call_r<bool>("HistorySelectByPosition", position_id); }
bool HistoryOrderSelect(ulong ticket) { return call_r<bool>("HistoryOrderSelect", ticket); }
int HistoryOrdersTotal() { return call_r<int>("HistoryOrdersTotal"); }
ulong HistoryOrderGetTicket(int index) { return call_r<ulong>("HistoryOrderGetTicket", index); }
MQLN_HISTORY_GETTERS(HistoryOrderGetDouble, ENUM_ORDER_PROPERTY_DOUBLE, double)
MQLN_HISTORY_GETTERS(HistoryOrderGetInteger, ENUM_ORDER_PROPERTY_INTEGER, long)
MQLN_HISTORY_GETTERS(HistoryOrderGetString, ENUM_ORDER_PROPERTY_STRING, string)
bool HistoryDealSelect(ulong ticket) { return call_r<bool>("HistoryDealSelect", ticket); }
int HistoryDealsTotal() { return call_r<int>("HistoryDealsTotal"); }
ulong HistoryDealGetTicket(int index) { return call_r<ulong>("HistoryDealGetTicket", index); }
MQLN_HISTORY_GETTERS(HistoryDealGetDouble, ENUM_DEAL_PROPERTY_DOUBLE, double)
MQLN_HISTORY_GETTERS(HistoryDealGetInteger, ENUM_DEAL_PROPERTY_INTEGER, long)
MQLN_HISTORY_GETTERS(HistoryDealGetString, ENUM_DEAL_PROPERTY_STRING, string)
#endif
