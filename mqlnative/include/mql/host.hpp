// mqlnative: host calls. Every terminal function the runtime does not run natively is one call
// of the host function set by mqln_set_host: fn = the MQL function name, args = msgpack array of
// the MQL arguments in order; the host answers {"r": value, "out": {index: value}, "err": code}.
// Layouts of each call: docs/mql-runtime.md. Included by the runtime's .cpp files only.
#pragma once
#include <cstddef>
#include <string>
#include <type_traits>

#include "mql/prelude.hpp"
#include "mql/msgpack.hpp"

extern "C" typedef const unsigned char* (*mqln_host_fn)(const char* fn, const unsigned char* args, size_t n,
                                                      size_t* out_n);

namespace mqln {

// A critical runtime error: the program stops (entry.hpp catches it, mqln_stopped() turns 1).
struct ProgramStopped {
    std::string why;
};

void set_host(mqln_host_fn host);
bool host_ready();
void mark_stopped();            // ExpertRemove: IsStopped() and mqln_stopped() turn true
bool stopped();
void mark_dead();               // a critical error: no handler runs again (implies stopped)
bool dead();
[[noreturn]] void critical(const std::string& why);   // prints to stderr and throws ProgramStopped
void set_last_error(int code);

// MQL string <-> UTF-8 through the core's documented conversions.
std::string utf8(const string& s);
string from_utf8(const std::string& s);

// One host answer. `r` and `out` point into `root`.
struct Reply {
    MpValue root;
    const MpValue* r = nullptr;
    const MpValue* out = nullptr;
    const MpValue* out_at(int index) const { return out ? out->get((long long)index) : nullptr; }
};

Reply call_raw(const char* fn, const MpOut& args, size_t argc);

//--- argument marshalling: MQL values -> msgpack
inline void put(MpOut& o, const string& v) { o.str(utf8(v)); }
inline void put(MpOut& o, const char* v) { o.str(v); }
inline void put(MpOut& o, bool v) { o.boolean(v); }
inline void put(MpOut& o, double v) { o.real(v); }
inline void put(MpOut& o, float v) { o.real(v); }
template <class T>
inline void put(MpOut& o, const T& v) {
    if constexpr (std::is_enum<T>::value) o.integer((long long)v);
    else if constexpr (std::is_integral<T>::value && std::is_signed<T>::value) o.integer((long long)v);
    else if constexpr (std::is_integral<T>::value) o.uinteger((unsigned long long)v);
    else o.integer(static_cast<long long>(v));   // datetime, color: integral value classes of the core
}

//--- result marshalling: msgpack -> MQL values
inline void get(const MpValue& v, string& out) { out = from_utf8(v.as_str("string")); }
inline void get(const MpValue& v, bool& out) { out = v.as_bool("bool"); }
inline void get(const MpValue& v, double& out) { out = v.as_double("double"); }
template <class T>
inline void get(const MpValue& v, T& out) {
    if constexpr (std::is_enum<T>::value) out = (T)v.as_int("enum");
    else if constexpr (std::is_integral<T>::value && std::is_signed<T>::value) out = (T)v.as_int("integer");
    else if constexpr (std::is_integral<T>::value) out = (T)v.as_uint("integer");
    else out = T((long long)v.as_int("integer"));
}

//--- structs as maps keyed by the MQL field names (runtime/structs.cpp); declared before the
//--- templates that use them, so overload resolution sees them.
void put(MpOut& o, const MqlTick& v);
void get(const MpValue& v, MqlTick& out);
#ifdef __MQL5__
void put(MpOut& o, const MqlTradeRequest& v);
void get(const MpValue& v, MqlTradeRequest& out);
void put(MpOut& o, const MqlTradeResult& v);
void get(const MpValue& v, MqlTradeResult& out);
void put(MpOut& o, const MqlTradeCheckResult& v);
void get(const MpValue& v, MqlTradeCheckResult& out);
void put(MpOut& o, const MqlTradeTransaction& v);
void get(const MpValue& v, MqlTradeTransaction& out);
#endif

template <class... A>
Reply call(const char* fn, const A&... args) {
    MpOut o;
    o.array(sizeof...(A));
    (put(o, args), ...);
    return call_raw(fn, o, sizeof...(A));
}

// The return value of a call whose MQL result type is R (nil reads as R's zero).
template <class R>
R ret(const Reply& rep) {
    R v{};
    if (rep.r && !rep.r->is_nil()) get(*rep.r, v);
    return v;
}

template <class R, class... A>
R call_r(const char* fn, const A&... args) {
    return ret<R>(call(fn, args...));
}

// A by-reference argument the host changed (absent: left as it was).
template <class T>
void out(const Reply& rep, int index, T& var) {
    const MpValue* v = rep.out_at(index);
    if (v && !v->is_nil()) get(*v, var);
}

// Struct fields as map entries, by MQL field name: read when present, so a host answers only
// what it changed.
template <class T>
void field(const MpValue& m, const char* name, T& var) {
    const MpValue* v = m.get(name);
    if (v && !v->is_nil()) get(*v, var);
}

}  // namespace mqln
