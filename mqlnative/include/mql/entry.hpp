// mql/entry.hpp - PLACEHOLDER by helper A (mqlcore) until helper C1 (mqlapi) lands the real
// one: the extern "C" entry points of the runtime ABI (MQLNATIVE_CONTRACT.md), compiled only
// for the handlers the program defines (the translator emits MQLN_HAS_<Handler>).
#pragma once
#include <cstring>

inline bool mqln_stopped_flag = false;
extern "C" {
#ifdef MQLN_HAS_OnStart
void mqln_OnStart(void) { OnStart(); }
#endif
#ifdef MQLN_HAS_OnInit
int mqln_OnInit(void) { return OnInit(); }
#endif
#ifdef MQLN_HAS_OnDeinit
void mqln_OnDeinit(int reason) { OnDeinit(reason); }
#endif
#ifdef MQLN_HAS_OnTimer
void mqln_OnTimer(void) { OnTimer(); }
#endif
#ifdef MQLN_HAS_OnTick
void mqln_OnTick(void) { OnTick(); }
#endif
int mqln_has(const char* handler) {
  static const char* present[] = {
#ifdef MQLN_HAS_OnStart
      "OnStart",
#endif
#ifdef MQLN_HAS_OnInit
      "OnInit",
#endif
#ifdef MQLN_HAS_OnDeinit
      "OnDeinit",
#endif
#ifdef MQLN_HAS_OnTimer
      "OnTimer",
#endif
#ifdef MQLN_HAS_OnTick
      "OnTick",
#endif
#ifdef MQLN_HAS_OnTradeTransaction
      "OnTradeTransaction",
#endif
      nullptr};
  for (const char** p = present; *p; p++)
    if (std::strcmp(*p, handler) == 0) return 1;
  return 0;
}
int mqln_stopped(void) { return mqln_stopped_flag ? 1 : 0; }
}
