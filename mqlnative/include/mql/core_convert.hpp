// mql/core_convert.hpp - String*, conversion and Math* functions (part of mql/core.hpp).
// Signatures as documented in the MQL5 Reference (String Functions, Conversion Functions,
// Math Functions); MQL4 documents the same ones.
#pragma once

// ---- String functions ----
inline int StringLen(const string& string_value) { return (int)string_value.u.size(); }
inline ushort StringGetCharacter(const string& string_value, const int pos) {
  return (pos >= 0 && pos < (int)string_value.u.size()) ? (ushort)string_value.u[pos] : (ushort)0;
}
inline bool StringSetCharacter(string& string_var, const int pos, const ushort character) {
  if (pos < 0 || pos > (int)string_var.u.size()) return false;
  if (character == 0) { string_var.u.resize(pos); return true; }   // MQL strings end at NUL
  if (pos == (int)string_var.u.size()) string_var.u.push_back(character);
  else string_var.u[pos] = character;
  return true;
}
inline string StringSubstr(const string& string_value, const int start_pos, const int length = -1) {
  int n = (int)string_value.u.size();
  if (start_pos < 0 || start_pos >= n) return string();
  int len = (length < 0 || start_pos + length > n) ? n - start_pos : length;
  return string::from_u16(string_value.u.substr(start_pos, len));
}
inline int StringFind(const string& string_value, const string& match_substring, const int start_pos = 0) {
  if (start_pos < 0 || start_pos > (int)string_value.u.size()) return -1;
  size_t at = string_value.u.find(match_substring.u, start_pos);
  return at == std::u16string::npos ? -1 : (int)at;
}
inline int StringSplit(const string& string_value, const ushort separator, MqlArray<string>& result) {
  if (string_value.u.empty()) { result.resize(0, 0); return 0; }
  std::u16string s = string_value.u;
  int count = 0;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(char16_t(separator), start);
    result.resize(count + 1, 16);
    result[count++] = string::from_u16(s.substr(start, at == std::u16string::npos ? std::u16string::npos : at - start));
    if (at == std::u16string::npos) break;
    start = at + 1;
  }
  return count;
}
inline int StringReplace(string& str, const string& find, const string& replacement) {
  if (find.u.empty()) return -1;
  int n = 0;
  size_t at = 0;
  while ((at = str.u.find(find.u, at)) != std::u16string::npos) {
    str.u.replace(at, find.u.size(), replacement.u);
    at += replacement.u.size();
    n++;
  }
  return n;
}
inline int StringCompare(const string& string1, const string& string2, const bool case_sensitive = true) {
  std::u16string a = string1.u, b = string2.u;
  if (!case_sensitive) {
    for (auto& c : a) if (c >= 'A' && c <= 'Z') c = char16_t(c + 32);
    for (auto& c : b) if (c >= 'A' && c <= 'Z') c = char16_t(c + 32);
  }
  return a < b ? -1 : (a > b ? 1 : 0);
}
inline bool StringToUpper(string& string_var) {
  for (auto& c : string_var.u) if (c >= 'a' && c <= 'z') c = char16_t(c - 32);
  return true;
}
inline bool StringToLower(string& string_var) {
  for (auto& c : string_var.u) if (c >= 'A' && c <= 'Z') c = char16_t(c + 32);
  return true;
}
inline bool mqln_is_space(char16_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline int StringTrimLeft(string& string_var) {
  size_t k = 0;
  while (k < string_var.u.size() && mqln_is_space(string_var.u[k])) k++;
  string_var.u.erase(0, k);
  return (int)k;
}
inline int StringTrimRight(string& string_var) {
  size_t n = string_var.u.size(), k = n;
  while (k > 0 && mqln_is_space(string_var.u[k - 1])) k--;
  string_var.u.resize(k);
  return (int)(n - k);
}
inline int StringAdd(string& string_var, const string& add_substring) { string_var.u += add_substring.u; return 1; }

// ---- conversions ----
inline string mqln_ascii(const char* s) { return string(s); }
inline string IntegerToString(const long number, const int str_len = 0, const ushort fill_symbol = ' ') {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld", number);
  string s(buf);
  while ((int)s.u.size() < str_len) s.u.insert(s.u.begin(), char16_t(fill_symbol));
  return s;
}
inline string DoubleToString(const double value, const int digits = 8) {
  char buf[400];
  if (digits < 0) std::snprintf(buf, sizeof buf, "%.*e", -digits, value);
  else std::snprintf(buf, sizeof buf, "%.*f", digits > 16 ? 16 : digits, value);
  return string(buf);
}
inline long StringToInteger(const string& value) { return std::strtol(value.utf8().c_str(), nullptr, 10); }
inline double StringToDouble(const string& value) { return std::strtod(value.utf8().c_str(), nullptr); }
inline string CharToString(const uchar char_code) { string s; if (char_code) s.u.push_back(char16_t(char_code)); return s; }
inline string ShortToString(const ushort symbol_code) { string s; if (symbol_code) s.u.push_back(char16_t(symbol_code)); return s; }
inline string TimeToString(const datetime value, const int mode = TIME_DATE | TIME_MINUTES) {
  long t = value;
  long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  long secs = t - days * 86400;
  // civil from days (Howard Hinnant's algorithm), UTC calendar
  long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  char buf[64] = "";
  int n = 0;
  if (mode & TIME_DATE) n += std::snprintf(buf + n, sizeof buf - n, "%04ld.%02ld.%02ld", y, m, d);
  if (mode & (TIME_MINUTES | TIME_SECONDS)) {
    if (n) buf[n++] = ' ';
    n += std::snprintf(buf + n, sizeof buf - n, "%02ld:%02ld", secs / 3600, (secs / 60) % 60);
    if (mode & TIME_SECONDS) std::snprintf(buf + n, sizeof buf - n, ":%02ld", secs % 60);
  }
  return string(buf);
}

// StringToCharArray: the string converted to `codepage` (CP_UTF8; others as Latin-1) into
// array[start...]; count = UTF-16 units to convert, WHOLE_ARRAY (-1) = all plus the
// terminating 0, which is copied too. A dynamic array grows to fit. Returns bytes copied.
inline int StringToCharArray(const string& text_string, MqlArray<uchar>& array, const int start = 0,
                             const int count = -1, const uint codepage = CP_ACP) {
  if (start < 0) return 0;
  std::u16string part = (count < 0 || count >= (int)text_string.u.size()) ? text_string.u : text_string.u.substr(0, count);
  std::string bytes;
  if (codepage == CP_UTF8) bytes = mqln_u16_to_utf8(part);
  else for (char16_t c : part) bytes.push_back(c < 256 ? char(c) : '?');
  if (count < 0 || count > (int)text_string.u.size()) bytes.push_back('\0');
  int n = (int)bytes.size();
  if (start + n > array.size()) {
    if (array.is_fixed()) n = array.size() - start;
    else array.resize(start + n, 0);
  }
  for (int k = 0; k < n; k++) array[start + k] = (uchar)bytes[k];
  return n < 0 ? 0 : n;
}
// CharArrayToString: array[start, start+count) (count -1: to the end), up to the first 0.
inline string CharArrayToString(const MqlArray<uchar>& array, const int start = 0, const int count = -1,
                                const uint codepage = CP_ACP) {
  if (start < 0 || start >= array.size()) return string();
  int end = (count < 0 || start + count > array.size()) ? array.size() : start + count;
  std::string bytes;
  for (int k = start; k < end && array[k] != 0; k++) bytes.push_back((char)array[k]);
  if (codepage == CP_UTF8) return string::from_utf8(bytes);
  string s;
  for (unsigned char c : bytes) s.u.push_back(char16_t(c));
  return s;
}

// ---- Math functions ----
template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
inline T MathAbs(const T value) { return value < 0 ? (T)-value : value; }
template <class A, class B>
inline auto MathMax(const A value1, const B value2) { return value1 > value2 ? value1 : value2; }
template <class A, class B>
inline auto MathMin(const A value1, const B value2) { return value1 < value2 ? value1 : value2; }
inline double MathRound(const double value) { return std::round(value); }   // half away from zero
inline double MathFloor(const double val) { return std::floor(val); }
inline double MathCeil(const double val) { return std::ceil(val); }
inline double MathSqrt(const double value) { return std::sqrt(value); }
inline double MathPow(const double base, const double exponent) { return std::pow(base, exponent); }
inline double MathLog(const double val) { return std::log(val); }
inline double MathLog10(const double val) { return std::log10(val); }
inline double MathExp(const double value) { return std::exp(value); }
inline double MathMod(const double value, const double value2) { return std::fmod(value, value2); }
inline bool MathIsValidNumber(const double number) { return std::isfinite(number); }
inline uint& mqln_rand_state() { static uint s = 1; return s; }
inline void MathSrand(const int seed) { mqln_rand_state() = (uint)seed; }
inline int MathRand() {   // 0..32767 like the MSVC CRT rand(), deterministic per seed
  mqln_rand_state() = mqln_rand_state() * 214013u + 2531011u;
  return (int)((mqln_rand_state() >> 16) & 0x7FFF);
}
// NormalizeDouble: rounded to `digits` (0..8) decimals, half away from zero.
inline double NormalizeDouble(const double value, const int digits) {
  static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  int d = digits < 0 ? 0 : (digits > 8 ? 8 : digits);
  if (!std::isfinite(value)) return value;
  double scaled = value * p10[d];
  if (std::fabs(scaled) >= 9e15) return value;
  return std::round(scaled) / p10[d];
}
