// a stand-in EA exporting the runtime ABI (tests/mqlnative/test_host_loader.py)
#include <cstddef>
#include <cstring>
#include <cstdio>
extern "C" {
typedef const unsigned char* (*mqln_host_fn)(const char*, const unsigned char*, size_t, size_t*);
static mqln_host_fn host = nullptr;
static long login_seen = -1;
static char files[256];
void mqln_set_host(mqln_host_fn h) { host = h; }
int mqln_set_input(const char* name, const unsigned char* v, size_t n) { return std::strcmp(name, "InpX") == 0 ? 0 : -1; }
void mqln_set_files_dir(const char* d) { std::snprintf(files, sizeof files, "%s", d); }
int mqln_OnInit(void) {
    // AccountInfoInteger(<int>): msgpack [0x91, 0x00]
    unsigned char args[2] = {0x91, 0x00};
    size_t n = 0;
    const unsigned char* r = host("AccountInfoInteger", args, 2, &n);
    return (r != nullptr && n > 0 && (r[0] & 0xf0) == 0x80) ? 0 : 1;   // a fixmap came back
}
void mqln_OnDeinit(int) {}
void mqln_OnTimer(void) { unsigned char a[1] = {0x90}; size_t n; host("NoSuchFunction", a, 1, &n); }
void mqln_OnTick(void) {}
void mqln_OnStart(void) {}
void mqln_OnTradeTransaction(const unsigned char*, size_t) {}
int mqln_has(const char* h) { return std::strcmp(h, "OnInit") == 0 || std::strcmp(h, "OnTimer") == 0; }
int mqln_stopped(void) { return 0; }
}
