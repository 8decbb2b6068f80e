// mql/core_runtime.hpp - log hook, critical errors, _LastError (part of mql/core.hpp).
#pragma once

// Where Print/PrintFormat/Alert/Comment text goes: one UTF-8 line per call. The runtime
// (api side) points it at the host's "Print"; a plain executable prints to stdout.
typedef void (*mqln_log_fn)(const char* utf8_line);
inline void mqln_log_stdout(const char* line) {
  std::fputs(line, stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}
inline mqln_log_fn mqln_log_hook = mqln_log_stdout;
inline void mqln_log(const std::string& line) { mqln_log_hook(line.c_str()); }

// A critical runtime error stops the MQL program (array out of range, invalid pointer, ...).
// The message is logged like MQL's journal line, then the hook runs; the default aborts,
// so ASan/UBSan test runs and executables stop there. A runtime may replace the hook.
typedef void (*mqln_critical_fn)(const char* what);
inline void mqln_critical_abort(const char*) { std::abort(); }
inline mqln_critical_fn mqln_critical_hook = mqln_critical_abort;
[[noreturn]] inline void mqln_critical(const char* what, const char* file, int line) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "critical error: %s in '%s' (%d)", what, file ? file : "?", line);
  mqln_log_hook(buf);
  std::fprintf(stderr, "%s\n", buf);
  mqln_critical_hook(buf);
  std::abort();   // a hook that returns still stops the program
}

// _LastError: the predefined variable; GetLastError() reads it (MQL5 Reference, Checkup).
inline int _LastError = 0;
inline int GetLastError() { return _LastError; }
inline void ResetLastError() { _LastError = 0; }
inline void SetUserError(const ushort user_error) { _LastError = ERR_USER_ERROR_FIRST + user_error; }
