// mql/core_format.hpp - StringFormat, PrintFormat, Print (part of mql/core.hpp).
// Format specifiers as documented for PrintFormat in the MQL5 Reference:
//   %[flags][width][.precision][{h | l | ll | I32 | I64}]type, types c C d i o u x X e E f g G a A s S.
// Arguments must be of simple types (numbers, bool, enum, string), as in MQL; structs,
// arrays and objects are a compile error. Integers print their full value in the
// signedness the type letter asks for; without I64/ll a 4-byte argument is 32 bits wide.
#pragma once

struct MqlFmtArg {
  enum Kind { INT, UINT, DBL, STR, BOOL } kind = INT;
  long long i = 0;
  unsigned long long u = 0;
  double d = 0;
  std::string s;
  int bytes = 8;
};

template <class A>
MqlFmtArg mqln_fmt_arg(const A& a) {
  MqlFmtArg r;
  if constexpr (std::is_same_v<A, bool>) {
    r.kind = MqlFmtArg::BOOL; r.i = a ? 1 : 0; r.u = r.i; r.d = r.i; r.s = a ? "true" : "false"; r.bytes = 4;
  } else if constexpr (std::is_enum_v<A>) {
    r.kind = MqlFmtArg::INT; r.i = (long long)a; r.u = (unsigned long long)r.i; r.d = (double)r.i; r.bytes = 4;
  } else if constexpr (std::is_integral_v<A> && std::is_signed_v<A>) {
    r.kind = MqlFmtArg::INT; r.i = a; r.u = (unsigned long long)(long long)a; r.d = (double)a; r.bytes = sizeof(A);
  } else if constexpr (std::is_integral_v<A>) {
    r.kind = MqlFmtArg::UINT; r.u = a; r.i = (long long)r.u; r.d = (double)a; r.bytes = sizeof(A);
  } else if constexpr (std::is_floating_point_v<A>) {
    r.kind = MqlFmtArg::DBL; r.d = a; r.i = (long long)a; r.u = (unsigned long long)r.i;
  } else if constexpr (std::is_same_v<A, MqlString>) {
    r.kind = MqlFmtArg::STR; r.s = a.utf8();
  } else if constexpr (std::is_convertible_v<A, const char*>) {
    r.kind = MqlFmtArg::STR; const char* p = a; r.s = p ? p : "";
  } else {
    static_assert(std::is_arithmetic_v<A>, "MQL: only simple types (numbers, bool, enum, string) can be formatted");
  }
  return r;
}

inline std::string mqln_number_text(const MqlFmtArg& a) {
  char buf[64];
  if (a.kind == MqlFmtArg::DBL) std::snprintf(buf, sizeof buf, "%.16g", a.d);
  else if (a.kind == MqlFmtArg::UINT) std::snprintf(buf, sizeof buf, "%llu", a.u);
  else std::snprintf(buf, sizeof buf, "%lld", a.i);
  return buf;
}

inline std::string mqln_format(const std::string& fmt, const MqlFmtArg* args, size_t nargs) {
  std::string out;
  size_t next = 0;
  auto take = [&](MqlFmtArg& into) -> bool {
    if (next >= nargs) return false;
    into = args[next++];
    return true;
  };
  size_t k = 0;
  while (k < fmt.size()) {
    char c = fmt[k];
    if (c != '%') { out.push_back(c); k++; continue; }
    size_t start = k++;
    if (k < fmt.size() && fmt[k] == '%') { out.push_back('%'); k++; continue; }
    std::string spec = "%";
    while (k < fmt.size() && std::strchr("-+ #0", fmt[k])) spec.push_back(fmt[k++]);
    MqlFmtArg star;
    if (k < fmt.size() && fmt[k] == '*') { k++; if (take(star)) spec += std::to_string(star.i); }
    while (k < fmt.size() && fmt[k] >= '0' && fmt[k] <= '9') spec.push_back(fmt[k++]);
    if (k < fmt.size() && fmt[k] == '.') {
      spec.push_back(fmt[k++]);
      if (k < fmt.size() && fmt[k] == '*') { k++; if (take(star)) spec += std::to_string(star.i); }
      while (k < fmt.size() && fmt[k] >= '0' && fmt[k] <= '9') spec.push_back(fmt[k++]);
    }
    bool wide = false;   // I64 / ll / l: 64-bit integer
    if (fmt.compare(k, 3, "I64") == 0) { wide = true; k += 3; }
    else if (fmt.compare(k, 3, "I32") == 0) { k += 3; }
    else if (fmt.compare(k, 2, "ll") == 0) { wide = true; k += 2; }
    else if (k < fmt.size() && (fmt[k] == 'l' || fmt[k] == 'h' || fmt[k] == 'L')) { wide = fmt[k] != 'h'; k++; }
    if (k >= fmt.size()) { out.append(fmt, start, std::string::npos); break; }
    char type = fmt[k++];
    MqlFmtArg a;
    if (!take(a)) { out.append(fmt, start, k - start); continue; }   // missing argument: text as is
    char buf[512];
    std::string sp = spec;
    switch (type) {
      case 'd': case 'i': {
        long long v = (a.kind == MqlFmtArg::DBL) ? (long long)a.d : a.i;
        if (!wide && a.bytes <= 4 && a.kind != MqlFmtArg::DBL) v = (int)v;
        std::snprintf(buf, sizeof buf, (sp + "lld").c_str(), v);
        out += buf;
        break;
      }
      case 'u': case 'o': case 'x': case 'X': {
        unsigned long long v = (a.kind == MqlFmtArg::DBL) ? (unsigned long long)(long long)a.d : a.u;
        if (!wide && a.bytes <= 4) v &= 0xFFFFFFFFull;
        std::snprintf(buf, sizeof buf, (sp + "ll" + type).c_str(), v);
        out += buf;
        break;
      }
      case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A': {
        double v = (a.kind == MqlFmtArg::DBL) ? a.d : (a.kind == MqlFmtArg::UINT ? (double)a.u : (double)a.i);
        std::snprintf(buf, sizeof buf, (sp + type).c_str(), v);
        out += buf;
        break;
      }
      case 'c': case 'C': {
        MqlString one;
        if (a.u & 0xFFFF) one.u.push_back(char16_t(a.u & 0xFFFF));
        std::snprintf(buf, sizeof buf, (sp + "s").c_str(), one.utf8().c_str());
        out += buf;
        break;
      }
      case 's': case 'S': {
        std::string text = (a.kind == MqlFmtArg::STR || a.kind == MqlFmtArg::BOOL) ? a.s : mqln_number_text(a);
        if (sp == "%") out += text;
        else {
          std::vector<char> big(text.size() + 512);
          std::snprintf(big.data(), big.size(), (sp + "s").c_str(), text.c_str());
          out += big.data();
        }
        break;
      }
      default:
        out.append(fmt, start, k - start);
    }
  }
  return out;
}

template <class... A>
string StringFormat(const string& format, const A&... args) {
  MqlFmtArg list[sizeof...(A) + 1] = {mqln_fmt_arg(args)...};
  return string::from_utf8(mqln_format(format.utf8(), list, sizeof...(A)));
}
template <class... A>
void PrintFormat(const string& format_string, const A&... args) {
  MqlFmtArg list[sizeof...(A) + 1] = {mqln_fmt_arg(args)...};
  mqln_log(mqln_format(format_string.utf8(), list, sizeof...(A)));
}
// Print: the arguments' texts concatenated (bool as true/false, double with 16 digits).
template <class... A>
void Print(const A&... args) {
  static_assert(sizeof...(A) > 0, "Print needs at least one argument");
  std::string line;
  MqlFmtArg list[sizeof...(A)] = {mqln_fmt_arg(args)...};
  for (const MqlFmtArg& a : list) line += (a.kind == MqlFmtArg::STR || a.kind == MqlFmtArg::BOOL) ? a.s : mqln_number_text(a);
  mqln_log(line);
}
