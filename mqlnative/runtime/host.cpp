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

//--- structs <-> maps keyed by the MQL field names: one field list per struct (`fields`),
//--- walked by put (struct -> map) and get (map -> struct)

namespace {

struct Counter {
    size_t n = 0;
    template <class T> void operator()(const char*, const T&) { n++; }
};

struct Writer {
    MpOut& o;
    template <class T> void operator()(const char* name, const T& value) {
        o.str(name);
        put(o, value);
    }
};

struct Reader {
    const MpValue& m;
    template <class T> void operator()(const char* name, T& value) { field(m, name, value); }
};

template <class S, class F> void fields_MqlTick(S& v, F&& f) {
    f("time", v.time);
    f("bid", v.bid);
    f("ask", v.ask);
    f("last", v.last);
    f("volume", v.volume);
#ifdef __MQL5__
    f("time_msc", v.time_msc);
    f("flags", v.flags);
    f("volume_real", v.volume_real);
#endif
}

template <class S, class F> void fields_MqlTradeRequest(S& v, F&& f) {
    f("action", v.action);
    f("magic", v.magic);
    f("order", v.order);
    f("symbol", v.symbol);
    f("volume", v.volume);
    f("price", v.price);
    f("stoplimit", v.stoplimit);
    f("sl", v.sl);
    f("tp", v.tp);
    f("deviation", v.deviation);
    f("type", v.type);
    f("type_filling", v.type_filling);
    f("type_time", v.type_time);
    f("expiration", v.expiration);
    f("comment", v.comment);
    f("position", v.position);
    f("position_by", v.position_by);
}

template <class S, class F> void fields_MqlTradeResult(S& v, F&& f) {
    f("retcode", v.retcode);
    f("deal", v.deal);
    f("order", v.order);
    f("volume", v.volume);
    f("price", v.price);
    f("bid", v.bid);
    f("ask", v.ask);
    f("comment", v.comment);
    f("request_id", v.request_id);
    f("retcode_external", v.retcode_external);
}

template <class S, class F> void fields_MqlTradeCheckResult(S& v, F&& f) {
    f("retcode", v.retcode);
    f("balance", v.balance);
    f("equity", v.equity);
    f("profit", v.profit);
    f("margin", v.margin);
    f("margin_free", v.margin_free);
    f("margin_level", v.margin_level);
    f("comment", v.comment);
}

template <class S, class F> void fields_MqlTradeTransaction(S& v, F&& f) {
    f("deal", v.deal);
    f("order", v.order);
    f("symbol", v.symbol);
    f("type", v.type);
    f("order_type", v.order_type);
    f("order_state", v.order_state);
    f("deal_type", v.deal_type);
    f("time_type", v.time_type);
    f("time_expiration", v.time_expiration);
    f("price", v.price);
    f("price_trigger", v.price_trigger);
    f("price_sl", v.price_sl);
    f("price_tp", v.price_tp);
    f("volume", v.volume);
    f("position", v.position);
    f("position_by", v.position_by);
}

}  // namespace

void put(MpOut& o, const MqlTick& v) {
    Counter c;
    fields_MqlTick(v, c);
    o.map(c.n);
    Writer w{o};
    fields_MqlTick(v, w);
}

void get(const MpValue& m, MqlTick& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTick: expected a map");
    Reader r{m};
    fields_MqlTick(v, r);
}

#ifdef __MQL5__
void put(MpOut& o, const MqlTradeRequest& v) {
    Counter c;
    fields_MqlTradeRequest(v, c);
    o.map(c.n);
    Writer w{o};
    fields_MqlTradeRequest(v, w);
}

void get(const MpValue& m, MqlTradeRequest& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeRequest: expected a map");
    Reader r{m};
    fields_MqlTradeRequest(v, r);
}
#endif

#ifdef __MQL5__
void put(MpOut& o, const MqlTradeResult& v) {
    Counter c;
    fields_MqlTradeResult(v, c);
    o.map(c.n);
    Writer w{o};
    fields_MqlTradeResult(v, w);
}

void get(const MpValue& m, MqlTradeResult& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeResult: expected a map");
    Reader r{m};
    fields_MqlTradeResult(v, r);
}
#endif

#ifdef __MQL5__
void put(MpOut& o, const MqlTradeCheckResult& v) {
    Counter c;
    fields_MqlTradeCheckResult(v, c);
    o.map(c.n);
    Writer w{o};
    fields_MqlTradeCheckResult(v, w);
}

void get(const MpValue& m, MqlTradeCheckResult& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeCheckResult: expected a map");
    Reader r{m};
    fields_MqlTradeCheckResult(v, r);
}
#endif

#ifdef __MQL5__
void put(MpOut& o, const MqlTradeTransaction& v) {
    Counter c;
    fields_MqlTradeTransaction(v, c);
    o.map(c.n);
    Writer w{o};
    fields_MqlTradeTransaction(v, w);
}

void get(const MpValue& m, MqlTradeTransaction& v) {
    if (m.kind != MpValue::Map) throw HostProtocolError("MqlTradeTransaction: expected a map");
    Reader r{m};
    fields_MqlTradeTransaction(v, r);
}
#endif
}  // namespace mqln
