// mqlnative: the small msgpack writer and reader of the runtime's host calls (docs/mql-runtime.md).
// No external library: the runtime only needs nil, bool, ints, float64, str, bin, array and map.
// Plain C++ (no MQL types), so the host-call layer and its tests do not depend on the core.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mqln {

// A host sent something the runtime cannot read: a bug in the host, reported, never guessed around.
struct HostProtocolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class MpOut {
public:
    std::vector<unsigned char> bytes;
    void nil() { bytes.push_back(0xc0); }
    void boolean(bool v) { bytes.push_back(v ? 0xc3 : 0xc2); }
    void integer(long long v) {
        if (v >= 0) { uinteger((unsigned long long)v); return; }
        if (v >= -32) { bytes.push_back((unsigned char)(v & 0xff)); return; }
        if (v >= INT8_MIN) { bytes.push_back(0xd0); be(v, 1); return; }
        if (v >= INT16_MIN) { bytes.push_back(0xd1); be(v, 2); return; }
        if (v >= INT32_MIN) { bytes.push_back(0xd2); be(v, 4); return; }
        bytes.push_back(0xd3); be(v, 8);
    }
    void uinteger(unsigned long long v) {
        if (v < 128) { bytes.push_back((unsigned char)v); return; }
        if (v <= 0xff) { bytes.push_back(0xcc); be(v, 1); return; }
        if (v <= 0xffff) { bytes.push_back(0xcd); be(v, 2); return; }
        if (v <= 0xffffffffULL) { bytes.push_back(0xce); be(v, 4); return; }
        bytes.push_back(0xcf); be(v, 8);
    }
    void real(double v) {
        unsigned long long bits;
        std::memcpy(&bits, &v, 8);
        bytes.push_back(0xcb); be(bits, 8);
    }
    void str(const std::string& s) {
        size_t n = s.size();
        if (n < 32) bytes.push_back((unsigned char)(0xa0 | n));
        else if (n <= 0xff) { bytes.push_back(0xd9); be(n, 1); }
        else if (n <= 0xffff) { bytes.push_back(0xda); be(n, 2); }
        else { bytes.push_back(0xdb); be(n, 4); }
        bytes.insert(bytes.end(), s.begin(), s.end());
    }
    void bin(const unsigned char* p, size_t n) {
        if (n <= 0xff) { bytes.push_back(0xc4); be(n, 1); }
        else if (n <= 0xffff) { bytes.push_back(0xc5); be(n, 2); }
        else { bytes.push_back(0xc6); be(n, 4); }
        bytes.insert(bytes.end(), p, p + n);
    }
    void array(size_t n) { header(n, 0x90, 0xdc, 0xdd); }
    void map(size_t n) { header(n, 0x80, 0xde, 0xdf); }

private:
    void be(unsigned long long v, int width) {
        for (int k = width - 1; k >= 0; k--) bytes.push_back((unsigned char)((v >> (8 * k)) & 0xff));
    }
    void be(long long v, int width) { be((unsigned long long)v, width); }
    void be(size_t v, int width) { be((unsigned long long)v, width); }
    void header(size_t n, unsigned char fix, unsigned char b16, unsigned char b32) {
        if (n < 16) bytes.push_back((unsigned char)(fix | n));
        else if (n <= 0xffff) { bytes.push_back(b16); be(n, 2); }
        else { bytes.push_back(b32); be(n, 4); }
    }
};

// A decoded value. Ints keep their sign: `neg` is set for values below zero (then `i` holds them).
struct MpValue {
    enum Kind { Nil, Bool, Int, Float, Str, Bin, Array, Map };
    Kind kind = Nil;
    bool b = false;
    bool neg = false;
    long long i = 0;            // Int: the value when neg, else the low 63 bits of u
    unsigned long long u = 0;   // Int: the value when !neg
    double f = 0.0;
    std::string s;              // Str (UTF-8) and Bin
    std::vector<MpValue> items; // Array; Map as key, value, key, value ...

    bool is_nil() const { return kind == Nil; }
    long long as_int(const char* what) const {
        if (kind == Int) {
            if (!neg && u > (unsigned long long)INT64_MAX) throw HostProtocolError(std::string(what) + ": integer above 2^63-1");
            return neg ? i : (long long)u;
        }
        if (kind == Bool) return b ? 1 : 0;
        throw HostProtocolError(std::string(what) + ": expected an integer");
    }
    unsigned long long as_uint(const char* what) const {
        if (kind == Int) return neg ? (unsigned long long)i : u;   // two's complement, as an MQL cast
        if (kind == Bool) return b ? 1 : 0;
        throw HostProtocolError(std::string(what) + ": expected an integer");
    }
    double as_double(const char* what) const {
        if (kind == Float) return f;
        if (kind == Int) return neg ? (double)i : (double)u;
        throw HostProtocolError(std::string(what) + ": expected a number");
    }
    bool as_bool(const char* what) const {
        if (kind == Bool) return b;
        if (kind == Int) return neg || u != 0;
        throw HostProtocolError(std::string(what) + ": expected a bool");
    }
    const std::string& as_str(const char* what) const {
        if (kind == Str || kind == Bin) return s;
        throw HostProtocolError(std::string(what) + ": expected a string");
    }
    size_t map_size() const { return kind == Map ? items.size() / 2 : 0; }
    // Map lookup by string key, or by integer key (the "out" map is keyed by argument index).
    const MpValue* get(const char* key) const {
        if (kind != Map) return nullptr;
        for (size_t k = 0; k + 1 < items.size(); k += 2)
            if (items[k].kind == Str && items[k].s == key) return &items[k + 1];
        return nullptr;
    }
    const MpValue* get(long long key) const {
        if (kind != Map) return nullptr;
        for (size_t k = 0; k + 1 < items.size(); k += 2) {
            const MpValue& kv = items[k];
            if (kv.kind == Int && (kv.neg ? kv.i : (long long)kv.u) == key) return &items[k + 1];
            if (kv.kind == Str && kv.s == std::to_string(key)) return &items[k + 1];
        }
        return nullptr;
    }
};

class MpIn {
public:
    MpIn(const unsigned char* p, size_t n) : m_p(p), m_n(n) {}
    MpValue parse_all() {
        MpValue v = value(0);
        if (m_at != m_n) throw HostProtocolError("msgpack: trailing bytes after the value");
        return v;
    }

private:
    static constexpr int kMaxDepth = 32;
    const unsigned char* m_p;
    size_t m_n;
    size_t m_at = 0;

    unsigned char byte() {
        if (m_at >= m_n) throw HostProtocolError("msgpack: truncated");
        return m_p[m_at++];
    }
    unsigned long long be(int width) {
        unsigned long long v = 0;
        for (int k = 0; k < width; k++) v = (v << 8) | byte();
        return v;
    }
    std::string raw(size_t n) {
        if (n > m_n - m_at) throw HostProtocolError("msgpack: truncated string");
        std::string s((const char*)m_p + m_at, n);
        m_at += n;
        return s;
    }
    MpValue sint(long long v) {
        MpValue r; r.kind = MpValue::Int;
        if (v < 0) { r.neg = true; r.i = v; } else r.u = (unsigned long long)v;
        return r;
    }
    MpValue uint(unsigned long long v) { MpValue r; r.kind = MpValue::Int; r.u = v; return r; }
    MpValue container(size_t n, bool is_map, int depth) {
        if (depth >= kMaxDepth) throw HostProtocolError("msgpack: nested too deep");
        if (n > m_n - m_at) throw HostProtocolError("msgpack: container longer than the buffer");
        MpValue r; r.kind = is_map ? MpValue::Map : MpValue::Array;
        size_t count = is_map ? 2 * n : n;
        r.items.reserve(count);
        for (size_t k = 0; k < count; k++) r.items.push_back(value(depth + 1));
        return r;
    }
    MpValue value(int depth) {
        unsigned char t = byte();
        if (t <= 0x7f) return uint(t);
        if (t >= 0xe0) return sint((long long)(signed char)t);
        if ((t & 0xf0) == 0x80) return container(t & 0x0f, true, depth);
        if ((t & 0xf0) == 0x90) return container(t & 0x0f, false, depth);
        if ((t & 0xe0) == 0xa0) { MpValue r; r.kind = MpValue::Str; r.s = raw(t & 0x1f); return r; }
        MpValue r;
        switch (t) {
            case 0xc0: return r;
            case 0xc2: r.kind = MpValue::Bool; r.b = false; return r;
            case 0xc3: r.kind = MpValue::Bool; r.b = true; return r;
            case 0xc4: r.kind = MpValue::Bin; r.s = raw(be(1)); return r;
            case 0xc5: r.kind = MpValue::Bin; r.s = raw(be(2)); return r;
            case 0xc6: r.kind = MpValue::Bin; r.s = raw(be(4)); return r;
            case 0xca: { uint32_t bits = (uint32_t)be(4); float f; std::memcpy(&f, &bits, 4); r.kind = MpValue::Float; r.f = f; return r; }
            case 0xcb: { unsigned long long bits = be(8); double d; std::memcpy(&d, &bits, 8); r.kind = MpValue::Float; r.f = d; return r; }
            case 0xcc: return uint(be(1));
            case 0xcd: return uint(be(2));
            case 0xce: return uint(be(4));
            case 0xcf: return uint(be(8));
            case 0xd0: return sint((int8_t)be(1));
            case 0xd1: return sint((int16_t)be(2));
            case 0xd2: return sint((int32_t)be(4));
            case 0xd3: return sint((long long)be(8));
            case 0xd9: r.kind = MpValue::Str; r.s = raw(be(1)); return r;
            case 0xda: r.kind = MpValue::Str; r.s = raw(be(2)); return r;
            case 0xdb: r.kind = MpValue::Str; r.s = raw(be(4)); return r;
            case 0xdc: return container(be(2), false, depth);
            case 0xdd: return container(be(4), false, depth);
            case 0xde: return container(be(2), true, depth);
            case 0xdf: return container(be(4), true, depth);
        }
        throw HostProtocolError("msgpack: unsupported type byte " + std::to_string(t));
    }
};

}  // namespace mqln
