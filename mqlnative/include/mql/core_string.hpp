// mql/core_string.hpp - MQL `string`: a sequence of UTF-16 code units (part of mql/core.hpp).
// StringLen, StringGetCharacter and StringSubstr count UTF-16 units, as in MQL. Literals in
// the translated source are UTF-8 and decoded on construction. No conversion from numbers:
// MQL would warn and convert, the native check refuses (docs/mql-linux.md).
#pragma once

inline std::u16string mqln_utf8_to_u16(const unsigned char* p, size_t n) {
  std::u16string out;
  out.reserve(n);
  size_t k = 0;
  while (k < n) {
    unsigned c = p[k];
    unsigned cp = 0xFFFD;
    size_t more = 0;
    unsigned lowest = 0;
    if (c < 0x80) { cp = c; }
    else if (c >= 0xC2 && c <= 0xDF) { more = 1; cp = c & 0x1F; lowest = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { more = 2; cp = c & 0x0F; lowest = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { more = 3; cp = c & 0x07; lowest = 0x10000; }
    else { more = 0; cp = 0xFFFD; }
    if (more) {
      bool ok = k + more < n;   // the whole sequence is inside the buffer
      for (size_t j = 1; ok && j <= more; j++) {
        unsigned cc = p[k + j];
        if ((cc & 0xC0) != 0x80) ok = false;
        else cp = (cp << 6) | (cc & 0x3F);
      }
      if (!ok || cp < lowest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        out.push_back(0xFFFD);   // one replacement per bad lead byte, like Windows' converter
        k++;
        continue;
      }
      k += more + 1;
    } else {
      k++;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(char16_t(0xD800 + (cp >> 10)));
      out.push_back(char16_t(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(char16_t(cp));
    }
  }
  return out;
}

inline std::string mqln_u16_to_utf8(const std::u16string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t k = 0; k < s.size(); k++) {
    unsigned cp = s[k];
    if (cp >= 0xD800 && cp <= 0xDBFF && k + 1 < s.size() && s[k + 1] >= 0xDC00 && s[k + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (s[k + 1] - 0xDC00);
      k++;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;   // unpaired surrogate
    }
    if (cp < 0x80) out.push_back(char(cp));
    else if (cp < 0x800) { out.push_back(char(0xC0 | (cp >> 6))); out.push_back(char(0x80 | (cp & 0x3F))); }
    else if (cp < 0x10000) {
      out.push_back(char(0xE0 | (cp >> 12)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(char(0xF0 | (cp >> 18)));
      out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

class MqlString {
 public:
  std::u16string u;   // the UTF-16 code units; MQL strings end at the first NUL
  MqlString() {}
  MqlString(const char* utf8) {   // literals and NULL (NULL is the empty string in MQL)
    if (utf8) u = mqln_utf8_to_u16(reinterpret_cast<const unsigned char*>(utf8), std::strlen(utf8));
  }
  MqlString(const MqlString&) = default;
  MqlString(MqlString&&) = default;
  MqlString& operator=(const MqlString&) = default;
  MqlString& operator=(MqlString&&) = default;
  static MqlString from_u16(std::u16string s) {
    MqlString r;
    size_t nul = s.find(char16_t(0));
    if (nul != std::u16string::npos) s.resize(nul);
    r.u = std::move(s);
    return r;
  }
  static MqlString from_utf8(const std::string& s) {
    return from_u16(mqln_utf8_to_u16(reinterpret_cast<const unsigned char*>(s.data()), s.size()));
  }
  std::string utf8() const { return mqln_u16_to_utf8(u); }
  MqlString& operator+=(const MqlString& o) { u += o.u; return *this; }
  friend MqlString operator+(const MqlString& a, const MqlString& b) { MqlString r(a); r.u += b.u; return r; }
  friend bool operator==(const MqlString& a, const MqlString& b) { return a.u == b.u; }
  friend bool operator!=(const MqlString& a, const MqlString& b) { return a.u != b.u; }
  friend bool operator<(const MqlString& a, const MqlString& b) { return a.u < b.u; }
  friend bool operator>(const MqlString& a, const MqlString& b) { return a.u > b.u; }
  friend bool operator<=(const MqlString& a, const MqlString& b) { return a.u <= b.u; }
  friend bool operator>=(const MqlString& a, const MqlString& b) { return a.u >= b.u; }
};
typedef MqlString string;
