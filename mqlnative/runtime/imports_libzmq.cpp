// mqlnative runtime: the `#import "libzmq.dll"` block of mql/Include/MtBridge/Zmq.mqh, defined
// over the real libzmq (<zmq.h>, link -lzmq). The translator puts those declarations in
// namespace mqlimport_libzmq with MQL parameters translated (arrays -> the core's array type);
// these definitions must match them exactly, per branch:
//   MT5: handles are long (a 64-bit pointer), sizes ulong;
//   MT4: handles are int, sizes uint. A 32-bit terminal passes pointers in an int; this 64-bit
//        build cannot, so MT4 handles are small ints mapped to pointers by a table.
// As in a terminal, an array passed to a DLL is a pointer to its elements: a buffer shorter than
// the length given is a memory error there, and a critical error here.
#include <string>
#include <vector>

#include "mql/host.hpp"
#include <zmq.h>

namespace {

#ifdef __MQL5__
typedef long zptr_t;
typedef ulong zsize_t;

void* to_ptr(zptr_t h) { return (void*)h; }
zptr_t from_ptr(void* p) { return (zptr_t)p; }
void forget(zptr_t) {}
#else
typedef int zptr_t;
typedef uint zsize_t;

// MT4 handles: index + 1 into this table; 0 is the null handle, as a null pointer would be.
std::vector<void*> g_handles;

void* to_ptr(zptr_t h) {
    if (h <= 0 || (size_t)h > g_handles.size()) return nullptr;
    return g_handles[(size_t)h - 1];
}
zptr_t from_ptr(void* p) {
    if (!p) return 0;
    for (size_t k = 0; k < g_handles.size(); k++)
        if (!g_handles[k]) { g_handles[k] = p; return (zptr_t)(k + 1); }
    g_handles.push_back(p);
    return (zptr_t)g_handles.size();
}
void forget(zptr_t h) {
    if (h > 0 && (size_t)h <= g_handles.size()) g_handles[(size_t)h - 1] = nullptr;
}
#endif

std::vector<unsigned char> bytes_of(const MqlArray<uchar>& a, size_t len, const char* fn) {
    if ((size_t)ArraySize(a) < len)
        mqln::critical(std::string(fn) + ": the array holds " + std::to_string(ArraySize(a)) + " bytes, " +
                       std::to_string(len) + " were passed to the DLL");
    std::vector<unsigned char> v(len);
    for (size_t k = 0; k < len; k++) v[k] = a[(int)k];
    return v;
}

// A C string argument: the bytes up to the array's first 0, which must be inside the array.
std::string c_string(const MqlArray<uchar>& a, const char* fn) {
    std::string s;
    int n = ArraySize(a);
    for (int k = 0; k < n; k++) {
        if (a[k] == 0) return s;
        s.push_back((char)a[k]);
    }
    mqln::critical(std::string(fn) + ": the string array has no terminating 0");
}

void copy_back(MqlArray<uchar>& a, const unsigned char* p, size_t n) {
    for (size_t k = 0; k < n; k++) a[(int)k] = p[k];
}

}  // namespace

namespace mqlimport_libzmq {

zptr_t zmq_ctx_new(void) { return from_ptr(::zmq_ctx_new()); }

int zmq_ctx_term(zptr_t context) {
    int rc = ::zmq_ctx_term(to_ptr(context));
    if (rc == 0) forget(context);
    return rc;
}

zptr_t zmq_socket(zptr_t context, int type) { return from_ptr(::zmq_socket(to_ptr(context), type)); }

int zmq_close(zptr_t socket) {
    int rc = ::zmq_close(to_ptr(socket));
    if (rc == 0) forget(socket);
    return rc;
}

int zmq_setsockopt(zptr_t socket, int option, const MqlArray<uchar>& value, zsize_t size) {
    std::vector<unsigned char> v = bytes_of(value, (size_t)size, "zmq_setsockopt");
    return ::zmq_setsockopt(to_ptr(socket), option, v.data(), v.size());
}

int zmq_getsockopt(zptr_t socket, int option, MqlArray<uchar>& value, zsize_t& size) {
    size_t n = (size_t)size;
    std::vector<unsigned char> v = bytes_of(value, n, "zmq_getsockopt");
    int rc = ::zmq_getsockopt(to_ptr(socket), option, v.data(), &n);
    if (rc == 0) {
        copy_back(value, v.data(), n);
        size = (zsize_t)n;
    }
    return rc;
}

int zmq_connect(zptr_t socket, const MqlArray<uchar>& endpoint) {
    return ::zmq_connect(to_ptr(socket), c_string(endpoint, "zmq_connect").c_str());
}

int zmq_send(zptr_t socket, const MqlArray<uchar>& buf, zsize_t len, int flags) {
    std::vector<unsigned char> v = bytes_of(buf, (size_t)len, "zmq_send");
    return ::zmq_send(to_ptr(socket), v.data(), v.size(), flags);
}

// Returns the frame's full length, which may exceed len (the frame is then truncated), as libzmq.
int zmq_recv(zptr_t socket, MqlArray<uchar>& buf, zsize_t len, int flags) {
    if ((size_t)ArraySize(buf) < (size_t)len)
        mqln::critical("zmq_recv: the array holds " + std::to_string(ArraySize(buf)) + " bytes, " +
                       std::to_string((size_t)len) + " were passed to the DLL");
    std::vector<unsigned char> v((size_t)len);
    int rc = ::zmq_recv(to_ptr(socket), v.data(), v.size(), flags);
    if (rc > 0) copy_back(buf, v.data(), (size_t)rc < v.size() ? (size_t)rc : v.size());
    return rc;
}

int zmq_errno(void) { return ::zmq_errno(); }

void zmq_version(int& major, int& minor, int& patch) { ::zmq_version(&major, &minor, &patch); }

int zmq_socket_monitor(zptr_t socket, const MqlArray<uchar>& endpoint, int events) {
    return ::zmq_socket_monitor(to_ptr(socket), c_string(endpoint, "zmq_socket_monitor").c_str(), events);
}

int zmq_has(const MqlArray<uchar>& capability) { return ::zmq_has(c_string(capability, "zmq_has").c_str()); }

}  // namespace mqlimport_libzmq
