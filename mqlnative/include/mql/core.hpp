// mql/core.hpp - the MQL LANGUAGE for the native Linux builds (docs/mql-linux.md).
// Header-only and executable: types, string with MQL (UTF-16) semantics, arrays with
// bounds checks, Array*/String*/conversion/Math functions, Print/PrintFormat/StringFormat,
// GetLastError, object pointers and input cells. The terminal API lives in api_*.hpp (C1).
// Documented signatures: MQL5 Reference (docs.mql4.com / mql5.com/en/docs) for each function.
#pragma once
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// ---- basic types (MQL sizes; Linux LP64: long is 64 bits like MQL's long) ----
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef long datetime;   // seconds since 1970.01.01 (MQL: 8 bytes)
typedef uint color;

static_assert(sizeof(long) == 8 && sizeof(ulong) == 8, "MQL long/ulong are 64-bit: build on LP64");
static_assert(sizeof(int) == 4 && sizeof(short) == 2 && sizeof(char) == 1, "MQL integer widths");

// ---- language constants (MQL5 Reference: Constants, Enumerations and Structures) ----
#ifndef WHOLE_ARRAY
#define WHOLE_ARRAY (-1)
#endif
#define EMPTY (-1)
#define CP_ACP 0
#define CP_OEMCP 1
#define CP_MACCP 2
#define CP_THREAD_ACP 3
#define CP_SYMBOL 42
#define CP_UTF7 65000
#define CP_UTF8 65001
#define EMPTY_VALUE DBL_MAX
#define CLR_NONE ((color)0xFFFFFFFF)
#define clrNONE CLR_NONE
#define INVALID_HANDLE (-1)
#define WRONG_VALUE (-1)
#define CHARTS_MAX 100
#define ERR_SUCCESS 0
#define ERR_NO_ERROR 0
#define ERR_USER_ERROR_FIRST 65536
#define TIME_DATE 1
#define TIME_MINUTES 2
#define TIME_SECONDS 4
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef UCHAR_MAX
#define UCHAR_MAX 255
#endif
#ifndef USHORT_MAX
#define USHORT_MAX 65535
#endif
#ifndef SHORT_MAX
#define SHORT_MAX 32767
#endif
#ifndef SHORT_MIN
#define SHORT_MIN (-32768)
#endif
// MQL's ULONG_MAX/LONG_MAX/INT_MAX/UINT_MAX/INT_MIN/LONG_MIN equal <climits> on LP64.

#include "core_runtime.hpp"
#include "core_string.hpp"
#include "core_array.hpp"
#include "core_convert.hpp"
#include "core_format.hpp"
#include "core_pointer.hpp"
#include "core_input.hpp"
