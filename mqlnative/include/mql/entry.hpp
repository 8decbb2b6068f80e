// mqlnative: the runtime ABI of a built MQL program (MQLNATIVE_CONTRACT.md, docs/mql-runtime.md).
// The translator appends `#define MQLN_HAS_<Handler> 1` for each handler the program defines,
// then includes this header: the extern "C" entry points below call those handlers.
// A critical runtime error (mqln::critical) ends the program as in a terminal: the handler is
// left, mqln_stopped() turns 1 and no handler runs again. ExpertRemove() also sets
// mqln_stopped(); then only OnDeinit still runs (the host calls it with REASON_REMOVE).
#pragma once
#include <cstdio>
#include <exception>
#include <string>

#include "mql/host.hpp"

namespace mqln {
void set_files_dir(const char* dir);
void close_all_files();
bool dead();
#ifndef __MQL5__
void refresh_predefined();
#endif

// An input set by the host before OnInit: the cell's kind decides which values fit
// (an int input refuses 1.5, a string input refuses 7).
inline bool assign_input(const char* name, const MpValue& v) {
    int kind = mqln_input_kind(name);
    if (kind < 0) return false;
    if (kind == MQLN_INPUT_STRING)
        return v.kind == MpValue::Str && mqln_input_set_string(name, v.s.c_str()) == 0;
    if (kind == MQLN_INPUT_DOUBLE && v.kind == MpValue::Float) return mqln_input_set_double(name, v.f) == 0;
    if (kind == MQLN_INPUT_BOOL && v.kind != MpValue::Bool) return false;
    if (v.kind != MpValue::Int && v.kind != MpValue::Bool) return false;
    if (v.kind == MpValue::Int && !v.neg && v.u > (unsigned long long)LONG_MAX) return false;
    return mqln_input_set_int(name, (long)v.as_int("input")) == 0;
}

// Runs one handler; false when it did not complete (critical error, host protocol error).
template <class F>
bool run_handler(const char* name, F body) {
    try {
        body();
        return true;
    } catch (const ProgramStopped&) {
    } catch (const HostProtocolError& e) {
        std::fprintf(stderr, "mqlnative: host protocol error in %s, the program stops: %s\n", name, e.what());
        mark_dead();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mqlnative: %s failed, the program stops: %s\n", name, e.what());
        mark_dead();
    }
    return false;
}

inline void before_event() {
#ifndef __MQL5__
    if (host_ready()) refresh_predefined();   // a host-less executable (the self-test) has no chart
#endif
}
}  // namespace mqln

#define MQLN_EXPORT extern "C" __attribute__((visibility("default")))

MQLN_EXPORT void mqln_set_host(mqln_host_fn host) { mqln::set_host(host); }

MQLN_EXPORT int mqln_set_input(const char* name, const unsigned char* msgpack_value, size_t n) {
    if (!name || (!msgpack_value && n > 0)) return -1;
    try {
        mqln::MpValue v = mqln::MpIn(msgpack_value, n).parse_all();
        return mqln::assign_input(name, v) ? 0 : -1;
    } catch (const mqln::HostProtocolError&) {
        return -1;
    }
}

MQLN_EXPORT void mqln_set_files_dir(const char* dir) { mqln::set_files_dir(dir); }

MQLN_EXPORT int mqln_OnInit(void) {
    if (mqln::dead()) return INIT_FAILED;
    int rc = INIT_SUCCEEDED;
    bool done = mqln::run_handler("OnInit", [&] {
        ResetLastError();
        mqln::before_event();
#ifdef MQLN_HAS_OnInit
        rc = (int)OnInit();
#endif
    });
    return done ? rc : (int)INIT_FAILED;
}

MQLN_EXPORT void mqln_OnDeinit(int reason) {
    if (!mqln::dead()) {
        mqln::run_handler("OnDeinit", [&] {
#ifdef MQLN_HAS_OnDeinit
            OnDeinit(reason);
#else
            (void)reason;
#endif
        });
    }
    mqln::close_all_files();   // a terminal closes what the program left open
}

MQLN_EXPORT void mqln_OnTimer(void) {
    if (mqln::stopped()) return;
    mqln::run_handler("OnTimer", [&] {
        mqln::before_event();
#ifdef MQLN_HAS_OnTimer
        OnTimer();
#endif
    });
}

MQLN_EXPORT void mqln_OnTick(void) {
    if (mqln::stopped()) return;
    mqln::run_handler("OnTick", [&] {
        mqln::before_event();
#ifdef MQLN_HAS_OnTick
        OnTick();
#endif
    });
}

MQLN_EXPORT void mqln_OnStart(void) {
    if (mqln::stopped()) return;
    mqln::run_handler("OnStart", [&] {
        mqln::before_event();
#ifdef MQLN_HAS_OnStart
        OnStart();
#endif
    });
}

// msgpack [trans, request, result], each a map keyed by the MQL field names (fields may be left out).
MQLN_EXPORT void mqln_OnTradeTransaction(const unsigned char* msgpack, size_t n) {
    if (mqln::stopped()) return;
    mqln::run_handler("OnTradeTransaction", [&] {
#if defined(__MQL5__) && defined(MQLN_HAS_OnTradeTransaction)
        mqln::MpValue v = mqln::MpIn(msgpack, n).parse_all();
        if (v.kind != mqln::MpValue::Array || v.items.size() != 3)
            throw mqln::HostProtocolError("OnTradeTransaction: expected [trans, request, result]");
        MqlTradeTransaction trans;
        MqlTradeRequest request;
        MqlTradeResult result;
        mqln::get(v.items[0], trans);
        mqln::get(v.items[1], request);
        mqln::get(v.items[2], result);
        OnTradeTransaction(trans, request, result);
#else
        (void)msgpack;
        (void)n;
#endif
    });
}

MQLN_EXPORT int mqln_has(const char* handler) {
    if (!handler) return 0;
    std::string h(handler);
#ifdef MQLN_HAS_OnInit
    if (h == "OnInit") return 1;
#endif
#ifdef MQLN_HAS_OnDeinit
    if (h == "OnDeinit") return 1;
#endif
#ifdef MQLN_HAS_OnTimer
    if (h == "OnTimer") return 1;
#endif
#ifdef MQLN_HAS_OnTick
    if (h == "OnTick") return 1;
#endif
#ifdef MQLN_HAS_OnStart
    if (h == "OnStart") return 1;
#endif
#if defined(__MQL5__) && defined(MQLN_HAS_OnTradeTransaction)
    if (h == "OnTradeTransaction") return 1;
#endif
    return 0;
}

MQLN_EXPORT int mqln_stopped(void) { return mqln::stopped() ? 1 : 0; }
