// mqlnative runtime: the host-call channel, the stop flag, _LastError, string conversions,
// and the struct <-> map marshalling of MqlTick and the MQL5 trade structures.
#include <cstdio>
#include <cstdlib>

#include "mql/host.hpp"

namespace mqln {

namespace {
mqln_host_fn g_host = nullptr;
bool g_stopped = false;
bool g_dead = false;
bool g_exiting = false;

// At process exit the host (a Python interpreter) is already finalised when the program's
// global destructors run (an MtbLink closing its socket prints): from then on, no host calls.
// Registered after the program's globals were constructed, so it runs before they are destroyed.
void withdraw_host() {
    g_exiting = true;
    g_host = nullptr;
}
}  // namespace

bool host_ready() { return g_host != nullptr; }
void mark_stopped() { g_stopped = true; }
bool stopped() { return g_stopped; }
void mark_dead() { g_dead = g_stopped = true; }
bool dead() { return g_dead; }

void critical(const std::string& why) {
    std::fprintf(stderr, "mqlnative: critical runtime error, the program stops: %s\n", why.c_str());
    mark_dead();
    throw ProgramStopped{why};
}

void set_last_error(int code) { _LastError = code; }

std::string utf8(const string& s) { return s.utf8(); }
string from_utf8(const std::string& s) { return MqlString::from_utf8(s); }

namespace {
// Print/PrintFormat (core.hpp's log hook) -> the host's "Print"
void log_to_host(const char* line) {
    if (!g_host) {
        mqln_log_stdout(line);
        return;
    }
    call("Print", line);
}
// the core's critical errors (array out of range, invalid pointer) end the program, not the host
[[noreturn]] void critical_to_stop(const char* what) {
    mark_dead();
    throw ProgramStopped{what ? what : "critical error"};
}
}  // namespace

void set_host(mqln_host_fn host) {
    static bool registered = false;
    if (!registered) registered = std::atexit(withdraw_host) == 0;
    g_host = host;
    mqln_log_hook = log_to_host;
    mqln_critical_hook = critical_to_stop;
}

Reply call_raw(const char* fn, const MpOut& args, size_t argc) {
    (void)argc;
    if (!g_host && g_exiting) {
        Reply quiet;                      // process exit: every call answers nil
        quiet.root.kind = MpValue::Map;
        return quiet;
    }
    if (!g_host) critical(std::string("mqln_set_host was not called before ") + fn);
    size_t n = 0;
    const unsigned char* p = g_host(fn, args.bytes.data(), args.bytes.size(), &n);
    if (!p) critical(std::string("the host returned no answer to ") + fn);
    Reply rep;
    try {
        rep.root = MpIn(p, n).parse_all();
    } catch (const HostProtocolError& e) {
        critical(std::string("the host's answer to ") + fn + " is not msgpack: " + e.what());
    }
    if (rep.root.kind != MpValue::Map) critical(std::string("the host's answer to ") + fn + " is not a map");
    rep.r = rep.root.get("r");
    rep.out = rep.root.get("out");
    if (rep.out && rep.out->kind != MpValue::Map && !rep.out->is_nil())
        critical(std::string("the host's \"out\" for ") + fn + " is not a map");
    const MpValue* err = rep.root.get("err");
    if (err && !err->is_nil()) set_last_error((int)err->as_int("err"));
    return rep;
}

//--- structs <-> maps keyed by the MQL field names
void put(MpOut& o, const MqlTick& v) {
#ifdef __MQL5__
    o.map(8);
#else
    o.map(5);
#endif
    o.str("time"); put(o, v.time);
    o.str("bid"); put(o, v.bid);
    o.str("ask"); put(o, v.ask);
    o.str("last"); put(o, v.last);
    o.str("volume"); put(o, v.volume);
#ifdef __MQL5__
    o.str("time_msc"); put(o, v.time_msc);
    o.str("flags"); put(o, v.flags);
    o.str("volume_real"); put(o, v.volume_real);
#endif
}

void get(const MpValue& m, MqlTick& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTick: expected a map");
    field(m, "time", v.time);
    field(m, "bid", v.bid);
    field(m, "ask", v.ask);
    field(m, "last", v.last);
    field(m, "volume", v.volume);
#ifdef __MQL5__
    field(m, "time_msc", v.time_msc);
    field(m, "flags", v.flags);
    field(m, "volume_real", v.volume_real);
#endif
}

#ifdef __MQL5__
void put(MpOut& o, const MqlTradeRequest& v) {
    o.map(17);
    o.str("action"); put(o, v.action);
    o.str("magic"); put(o, v.magic);
    o.str("order"); put(o, v.order);
    o.str("symbol"); put(o, v.symbol);
    o.str("volume"); put(o, v.volume);
    o.str("price"); put(o, v.price);
    o.str("stoplimit"); put(o, v.stoplimit);
    o.str("sl"); put(o, v.sl);
    o.str("tp"); put(o, v.tp);
    o.str("deviation"); put(o, v.deviation);
    o.str("type"); put(o, v.type);
    o.str("type_filling"); put(o, v.type_filling);
    o.str("type_time"); put(o, v.type_time);
    o.str("expiration"); put(o, v.expiration);
    o.str("comment"); put(o, v.comment);
    o.str("position"); put(o, v.position);
    o.str("position_by"); put(o, v.position_by);
}

void get(const MpValue& m, MqlTradeRequest& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeRequest: expected a map");
    field(m, "action", v.action);
    field(m, "magic", v.magic);
    field(m, "order", v.order);
    field(m, "symbol", v.symbol);
    field(m, "volume", v.volume);
    field(m, "price", v.price);
    field(m, "stoplimit", v.stoplimit);
    field(m, "sl", v.sl);
    field(m, "tp", v.tp);
    field(m, "deviation", v.deviation);
    field(m, "type", v.type);
    field(m, "type_filling", v.type_filling);
    field(m, "type_time", v.type_time);
    field(m, "expiration", v.expiration);
    field(m, "comment", v.comment);
    field(m, "position", v.position);
    field(m, "position_by", v.position_by);
}

void put(MpOut& o, const MqlTradeResult& v) {
    o.map(10);
    o.str("retcode"); put(o, v.retcode);
    o.str("deal"); put(o, v.deal);
    o.str("order"); put(o, v.order);
    o.str("volume"); put(o, v.volume);
    o.str("price"); put(o, v.price);
    o.str("bid"); put(o, v.bid);
    o.str("ask"); put(o, v.ask);
    o.str("comment"); put(o, v.comment);
    o.str("request_id"); put(o, v.request_id);
    o.str("retcode_external"); put(o, v.retcode_external);
}

void get(const MpValue& m, MqlTradeResult& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeResult: expected a map");
    field(m, "retcode", v.retcode);
    field(m, "deal", v.deal);
    field(m, "order", v.order);
    field(m, "volume", v.volume);
    field(m, "price", v.price);
    field(m, "bid", v.bid);
    field(m, "ask", v.ask);
    field(m, "comment", v.comment);
    field(m, "request_id", v.request_id);
    field(m, "retcode_external", v.retcode_external);
}

void put(MpOut& o, const MqlTradeCheckResult& v) {
    o.map(8);
    o.str("retcode"); put(o, v.retcode);
    o.str("balance"); put(o, v.balance);
    o.str("equity"); put(o, v.equity);
    o.str("profit"); put(o, v.profit);
    o.str("margin"); put(o, v.margin);
    o.str("margin_free"); put(o, v.margin_free);
    o.str("margin_level"); put(o, v.margin_level);
    o.str("comment"); put(o, v.comment);
}

void get(const MpValue& m, MqlTradeCheckResult& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeCheckResult: expected a map");
    field(m, "retcode", v.retcode);
    field(m, "balance", v.balance);
    field(m, "equity", v.equity);
    field(m, "profit", v.profit);
    field(m, "margin", v.margin);
    field(m, "margin_free", v.margin_free);
    field(m, "margin_level", v.margin_level);
    field(m, "comment", v.comment);
}

void put(MpOut& o, const MqlTradeTransaction& v) {
    o.map(16);
    o.str("deal"); put(o, v.deal);
    o.str("order"); put(o, v.order);
    o.str("symbol"); put(o, v.symbol);
    o.str("type"); put(o, v.type);
    o.str("order_type"); put(o, v.order_type);
    o.str("order_state"); put(o, v.order_state);
    o.str("deal_type"); put(o, v.deal_type);
    o.str("time_type"); put(o, v.time_type);
    o.str("time_expiration"); put(o, v.time_expiration);
    o.str("price"); put(o, v.price);
    o.str("price_trigger"); put(o, v.price_trigger);
    o.str("price_sl"); put(o, v.price_sl);
    o.str("price_tp"); put(o, v.price_tp);
    o.str("volume"); put(o, v.volume);
    o.str("position"); put(o, v.position);
    o.str("position_by"); put(o, v.position_by);
}

void get(const MpValue& m, MqlTradeTransaction& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeTransaction: expected a map");
    field(m, "deal", v.deal);
    field(m, "order", v.order);
    field(m, "symbol", v.symbol);
    field(m, "type", v.type);
    field(m, "order_type", v.order_type);
    field(m, "order_state", v.order_state);
    field(m, "deal_type", v.deal_type);
    field(m, "time_type", v.time_type);
    field(m, "time_expiration", v.time_expiration);
    field(m, "price", v.price);
    field(m, "price_trigger", v.price_trigger);
    field(m, "price_sl", v.price_sl);
    field(m, "price_tp", v.price_tp);
    field(m, "volume", v.volume);
    field(m, "position", v.position);
    field(m, "position_by", v.position_by);
}
#endif

}  // namespace mqln
