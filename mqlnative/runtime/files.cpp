// mqlnative runtime: the MQL file functions, natively, in the terminal's MQLx/Files folder
// (mqln_set_files_dir). MQL semantics kept: names relative to that folder with '\' or '/',
// nothing outside it; FILE_WRITE creates missing sub-folders; FILE_WRITE without FILE_READ empties
// the file; FILE_READ|FILE_WRITE keeps it and creates it when missing; small int handles;
// FileMove/FileCopy refuse an existing target unless FILE_REWRITE. Not modelled: FILE_COMMON
// (refused), the share flags (one program per process here), ANSI code pages (FILE_ANSI = UTF-8).
#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "mql/host.hpp"

namespace {

#ifdef __MQL5__
const int E_TOO_MANY = ERR_TOO_MANY_FILES, E_NAME = ERR_WRONG_FILENAME, E_OPEN = ERR_CANNOT_OPEN_FILE,
          E_DELETE = ERR_CANNOT_DELETE_FILE, E_HANDLE = ERR_INVALID_FILEHANDLE, E_NOT_WRITE = ERR_FILE_NOTTOWRITE,
          E_NOT_READ = ERR_FILE_NOTTOREAD, E_NOT_BIN = ERR_FILE_NOTBIN, E_READ = ERR_FILE_READERROR,
          E_WRITE = ERR_FILE_WRITEERROR, E_IS_DIR = ERR_FILE_IS_DIRECTORY, E_NOT_EXIST = ERR_FILE_NOT_EXIST,
          E_REWRITE = ERR_FILE_CANNOT_REWRITE, E_PARAM = 4003 /* ERR_INVALID_PARAMETER */;
#else
const int E_TOO_MANY = ERR_FILE_TOO_MANY_OPENED, E_NAME = ERR_FILE_WRONG_FILENAME, E_OPEN = ERR_FILE_CANNOT_OPEN,
          E_DELETE = ERR_FILE_CANNOT_DELETE, E_HANDLE = ERR_FILE_INVALID_HANDLE, E_NOT_WRITE = ERR_FILE_NOT_TOWRITE,
          E_NOT_READ = ERR_FILE_NOT_TOREAD, E_NOT_BIN = ERR_FILE_NOT_BIN, E_READ = ERR_FILE_READ_ERROR,
          E_WRITE = ERR_FILE_WRITE_ERROR, E_IS_DIR = ERR_FILE_IS_DIRECTORY, E_NOT_EXIST = ERR_FILE_NOT_EXIST,
          E_REWRITE = ERR_FILE_CANNOT_REWRITE, E_PARAM = ERR_INVALID_FUNCTION_PARAMVALUE;
#endif

const int kMaxOpen = 64;          // open files per program
const size_t kMaxName = 260;      // MQL's path length limit, as on Windows

struct OpenFile {
    int fd;
    int flags;
    std::string path;
};

std::string g_dir;
std::map<int, OpenFile> g_open;

bool fail(int code) {
    mqln::set_last_error(code);
    return false;
}

// MQL name -> absolute path inside the files folder; "" when the name is not allowed.
std::string resolve(const string& name, int common_flag) {
    if ((common_flag & FILE_COMMON) != 0 || g_dir.empty()) return "";
    std::string raw = mqln::utf8(name);
    if (raw.empty() || raw.size() > kMaxName || raw[0] == '/' || raw[0] == '\\' || raw.find(':') != std::string::npos)
        return "";
    std::string path = g_dir;
    std::string part;
    raw.push_back('/');
    for (char c : raw) {
        if (c == '/' || c == '\\') {
            if (part == "..") return "";
            if (!part.empty() && part != ".") path += "/" + part;
            part.clear();
        } else if ((unsigned char)c < 32 || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|') {
            return "";
        } else {
            part.push_back(c);
        }
    }
    return path == g_dir ? "" : path;
}

bool make_parents(const std::string& path) {
    for (size_t k = g_dir.size() + 1; k < path.size(); k++) {
        if (path[k] != '/') continue;
        std::string dir = path.substr(0, k);
        if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    return true;
}

bool is_dir(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_open(const std::string& path) {
    for (auto& kv : g_open)
        if (kv.second.path == path) return true;
    return false;
}

OpenFile* lookup(int handle) {
    auto it = g_open.find(handle);
    if (it == g_open.end()) {
        mqln::set_last_error(E_HANDLE);
        return nullptr;
    }
    return &it->second;
}

long position(const OpenFile& f) { return (long)lseek(f.fd, 0, SEEK_CUR); }

long size_of(const OpenFile& f) {
    struct stat st;
    return fstat(f.fd, &st) == 0 ? (long)st.st_size : -1;
}

bool write_all(OpenFile& f, const void* src, size_t n) {
    const char* p = (const char*)src;
    while (n > 0) {
        ssize_t k = write(f.fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return fail(E_WRITE);
        p += k;
        n -= (size_t)k;
    }
    return true;
}

long read_some(OpenFile& f, void* dst, size_t n) {
    char* p = (char*)dst;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(f.fd, p + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { fail(E_READ); return -1; }
        if (k == 0) break;
        got += (size_t)k;
    }
    return (long)got;
}

bool copy_file(const std::string& from, const std::string& to) {
    int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return false;
    int outfd = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (outfd < 0) { close(in); return false; }
    char buf[65536];
    bool ok = true;
    for (;;) {
        ssize_t k = read(in, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { ok = (k == 0); break; }
        if (write(outfd, buf, (size_t)k) != k) { ok = false; break; }
    }
    close(in);
    return (close(outfd) == 0) && ok;
}

}  // namespace

namespace mqln {
void set_files_dir(const char* dir) {
    g_dir = dir ? dir : "";
    while (g_dir.size() > 1 && g_dir.back() == '/') g_dir.pop_back();
}

void close_all_files() {
    for (auto& kv : g_open) close(kv.second.fd);
    g_open.clear();
}

long file_bytes_left(int handle) {
    OpenFile* f = lookup(handle);
    if (!f) return -1;
    long left = size_of(*f) - position(*f);
    return left > 0 ? left : 0;
}

long file_read_bytes(int handle, void* dst, size_t n) {
    OpenFile* f = lookup(handle);
    if (!f) return -1;
    if ((f->flags & FILE_READ) == 0) { fail(E_NOT_READ); return -1; }
    if ((f->flags & FILE_BIN) == 0) { fail(E_NOT_BIN); return -1; }
    return read_some(*f, dst, n);
}

long file_write_bytes(int handle, const void* src, size_t n) {
    OpenFile* f = lookup(handle);
    if (!f) return -1;
    if ((f->flags & FILE_WRITE) == 0) { fail(E_NOT_WRITE); return -1; }
    if ((f->flags & FILE_BIN) == 0) { fail(E_NOT_BIN); return -1; }
    return write_all(*f, src, n) ? (long)n : -1;
}
}  // namespace mqln

int FileOpen(const string& file_name, int open_flags, short delimiter, uint codepage) {
    (void)delimiter;
    (void)codepage;
    std::string path = resolve(file_name, open_flags);
    if (path.empty()) return fail(E_NAME), INVALID_HANDLE;
    bool rd = (open_flags & FILE_READ) != 0, wr = (open_flags & FILE_WRITE) != 0;
    if (!rd && !wr) return fail(E_OPEN), INVALID_HANDLE;
    if ((int)g_open.size() >= kMaxOpen) return fail(E_TOO_MANY), INVALID_HANDLE;
    if (is_dir(path)) return fail(E_IS_DIR), INVALID_HANDLE;
    if (wr && !make_parents(path)) return fail(E_OPEN), INVALID_HANDLE;
    int mode = O_CLOEXEC | (rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY);
    if (wr) mode |= O_CREAT;
    if (wr && !rd) mode |= O_TRUNC;
    int fd = open(path.c_str(), mode, 0644);
    if (fd < 0) return fail(E_OPEN), INVALID_HANDLE;
    int handle = 1;
    while (g_open.count(handle)) handle++;
    g_open[handle] = OpenFile{fd, open_flags, path};
    return handle;
}

void FileClose(int file_handle) {
    OpenFile* f = lookup(file_handle);
    if (!f) return;
    close(f->fd);
    g_open.erase(file_handle);
}

bool FileSeek(int file_handle, long offset, ENUM_FILE_POSITION origin) {
    OpenFile* f = lookup(file_handle);
    if (!f) return false;
    long base = origin == SEEK_SET ? 0 : origin == SEEK_CUR ? position(*f) : size_of(*f);
    if (base < 0 || base + offset < 0) return fail(E_PARAM);
    return lseek(f->fd, base + offset, 0 /* POSIX SEEK_SET */) >= 0 || fail(E_READ);
}

ulong FileTell(int file_handle) {
    OpenFile* f = lookup(file_handle);
    return f ? (ulong)position(*f) : 0;
}

ulong FileSize(int file_handle) {
    OpenFile* f = lookup(file_handle);
    return f ? (ulong)size_of(*f) : 0;
}

bool FileIsEnding(int file_handle) {
    OpenFile* f = lookup(file_handle);
    return !f || position(*f) >= size_of(*f);
}

void FileFlush(int file_handle) {
    OpenFile* f = lookup(file_handle);
    if (f) fsync(f->fd);
}

bool FileIsExist(const string& file_name, int common_flag) {
    std::string path = resolve(file_name, common_flag);
    if (path.empty()) return fail(E_NAME);
    if (is_dir(path)) return fail(E_IS_DIR);
    return is_file(path) || fail(E_NOT_EXIST);
}

bool FileDelete(const string& file_name, int common_flag) {
    std::string path = resolve(file_name, common_flag);
    if (path.empty()) return fail(E_NAME);
    if (!is_file(path)) return fail(E_NOT_EXIST);
    if (is_open(path) || unlink(path.c_str()) != 0) return fail(E_DELETE);
    return true;
}

static bool move_or_copy(const string& src_file_name, int common_flag, const string& dst_file_name, int mode_flags,
                         bool move) {
    std::string from = resolve(src_file_name, common_flag);
    std::string to = resolve(dst_file_name, mode_flags);
    if (from.empty() || to.empty()) return fail(E_NAME);
    if (!is_file(from)) return fail(E_NOT_EXIST);
    if (is_dir(to)) return fail(E_IS_DIR);
    if (is_file(to) && (mode_flags & FILE_REWRITE) == 0) return fail(E_REWRITE);
    if (is_open(from) || is_open(to) || !make_parents(to)) return fail(E_OPEN);
    // rename() replaces the target atomically: a crash leaves the old or the new file, never half
    if (move) return rename(from.c_str(), to.c_str()) == 0 || fail(E_OPEN);
    return copy_file(from, to) || fail(E_WRITE);
}

bool FileMove(const string& src_file_name, int common_flag, const string& dst_file_name, int mode_flags) {
    return move_or_copy(src_file_name, common_flag, dst_file_name, mode_flags, true);
}

bool FileCopy(const string& src_file_name, int common_flag, const string& dst_file_name, int mode_flags) {
    return move_or_copy(src_file_name, common_flag, dst_file_name, mode_flags, false);
}

//--- typed values (FILE_BIN): little-endian, as the terminal writes them on x86
uint FileWriteInteger(int file_handle, int value, int size) {
    if (size != CHAR_VALUE && size != SHORT_VALUE && size != INT_VALUE) return fail(E_PARAM), 0;
    unsigned char b[4];
    for (int k = 0; k < 4; k++) b[k] = (unsigned char)(((unsigned)value >> (8 * k)) & 0xff);
    long n = mqln::file_write_bytes(file_handle, b, (size_t)size);
    return n < 0 ? 0 : (uint)n;
}

int FileReadInteger(int file_handle, int size) {
    if (size != CHAR_VALUE && size != SHORT_VALUE && size != INT_VALUE) return fail(E_PARAM), 0;
    unsigned char b[4] = {0, 0, 0, 0};
    if (mqln::file_read_bytes(file_handle, b, (size_t)size) != size) return 0;
    unsigned v = b[0] | (b[1] << 8) | (b[2] << 16) | ((unsigned)b[3] << 24);
    if (size == CHAR_VALUE) return (int)(signed char)v;
    if (size == SHORT_VALUE) return (int)(short)v;
    return (int)v;
}

uint FileWriteLong(int file_handle, long value) {
    long n = mqln::file_write_bytes(file_handle, &value, sizeof value);
    return n < 0 ? 0 : (uint)n;
}

long FileReadLong(int file_handle) {
    long v = 0;
    return mqln::file_read_bytes(file_handle, &v, sizeof v) == (long)sizeof v ? v : 0;
}

uint FileWriteDouble(int file_handle, double value) {
    long n = mqln::file_write_bytes(file_handle, &value, sizeof value);
    return n < 0 ? 0 : (uint)n;
}

double FileReadDouble(int file_handle) {
    double v = 0.0;
    return mqln::file_read_bytes(file_handle, &v, sizeof v) == (long)sizeof v ? v : 0.0;
}

//--- strings: FILE_BIN writes the characters without a terminator, UTF-16LE unless FILE_ANSI
//--- (then UTF-8); text modes write and read lines the same way.
static bool text_mode(const OpenFile& f) { return (f.flags & FILE_BIN) == 0; }

uint FileWriteString(int file_handle, const string& text_string, int length) {
    OpenFile* f = lookup(file_handle);
    if (!f) return 0;
    if ((f->flags & FILE_WRITE) == 0) return fail(E_NOT_WRITE), 0;
    string s = text_string;
    if (length >= 0 && length < StringLen(s)) s = StringSubstr(s, 0, length);
    std::string bytes;
    if ((f->flags & FILE_ANSI) != 0) {
        bytes = mqln::utf8(s);
    } else {
        int n = StringLen(s);
        for (int k = 0; k < n; k++) {
            ushort c = StringGetCharacter(s, k);
            bytes.push_back((char)(c & 0xff));
            bytes.push_back((char)(c >> 8));
        }
    }
    if (!write_all(*f, bytes.data(), bytes.size())) return 0;
    return (uint)((f->flags & FILE_ANSI) != 0 ? bytes.size() : bytes.size() / 2);
}

string FileReadString(int file_handle, int length) {
    OpenFile* f = lookup(file_handle);
    if (!f) return string("");
    if ((f->flags & FILE_READ) == 0) return fail(E_NOT_READ), string("");
    bool ansi = (f->flags & FILE_ANSI) != 0;
    size_t unit = ansi ? 1 : 2;
    std::vector<unsigned char> raw;
    for (;;) {
        if (!text_mode(*f) && length >= 0 && raw.size() >= (size_t)length * unit) break;
        unsigned char c[2] = {0, 0};
        if (read_some(*f, c, unit) != (long)unit) break;
        unsigned code = unit == 1 ? c[0] : (unsigned)(c[0] | (c[1] << 8));
        if (text_mode(*f) && (code == '\n')) break;
        raw.push_back(c[0]);
        if (unit == 2) raw.push_back(c[1]);
    }
    if (text_mode(*f) && raw.size() >= unit && raw[raw.size() - unit] == '\r') raw.resize(raw.size() - unit);
    if (ansi) return mqln::from_utf8(std::string(raw.begin(), raw.end()));
    string s("");
    for (size_t k = 0; k + 1 < raw.size(); k += 2) {
        ushort code = (ushort)(raw[k] | (raw[k + 1] << 8));
        s += ShortToString(code);
    }
    return s;
}
