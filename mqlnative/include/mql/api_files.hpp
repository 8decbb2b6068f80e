// mqlnative: FileReadArray / FileWriteArray. The references declare them over `void &array[]`
// (any array of simple types or simple structures), so here they are templates over the core's
// array types; the bytes go through mqlnative/runtime/files.cpp.
#pragma once
#include <cstddef>
#include <type_traits>
#include <vector>

const int CHAR_VALUE = 1;
const int SHORT_VALUE = 2;
const int INT_VALUE = 4;

namespace mqln {
// Raw transfers on an open FILE_BIN handle; -1 after setting _LastError (bad handle, wrong mode).
long file_read_bytes(int handle, void* dst, size_t n);
long file_write_bytes(int handle, const void* src, size_t n);
// Bytes from the position to the end, -1 for a bad handle.
long file_bytes_left(int handle);

template <class A>
using array_element_t = std::remove_cv_t<std::remove_reference_t<decltype(std::declval<A&>()[0])>>;
}  // namespace mqln

// Reads `count` elements (WHOLE_ARRAY: what is left in the file for a dynamic array, the array's
// size from `start` for a fixed one) into array[start...]; a dynamic array grows to fit.
template <class A>
uint FileReadArray(int file_handle, A& array, int start = 0, int count = WHOLE_ARRAY) {
    using T = mqln::array_element_t<A>;
    static_assert(std::is_trivially_copyable<T>::value,
                  "FileReadArray: arrays of simple types or simple structures only");
    if (start < 0) return 0;
    long left = mqln::file_bytes_left(file_handle);
    if (left < 0) return 0;
    long want = count;
    if (count < 0) want = ArrayIsDynamic(array) ? left / (long)sizeof(T) : (long)ArraySize(array) - start;
    if (want <= 0) return 0;
    if ((long)ArraySize(array) < start + want) {
        if (!ArrayIsDynamic(array)) want = (long)ArraySize(array) - start;
        else if (ArrayResize(array, (int)(start + want)) < start + want) return 0;
    }
    if (want <= 0) return 0;
    std::vector<T> buf((size_t)want);
    long got = mqln::file_read_bytes(file_handle, buf.data(), (size_t)want * sizeof(T));
    if (got < 0) return 0;
    long whole = got / (long)sizeof(T);
    for (long k = 0; k < whole; k++) array[(int)(start + k)] = buf[(size_t)k];
    return (uint)whole;
}

// Writes `count` elements (WHOLE_ARRAY: to the end) from array[start...].
template <class A>
uint FileWriteArray(int file_handle, const A& array, int start = 0, int count = WHOLE_ARRAY) {
    using T = mqln::array_element_t<const A>;
    static_assert(std::is_trivially_copyable<T>::value,
                  "FileWriteArray: arrays of simple types or simple structures only");
    int size = ArraySize(array);
    if (start < 0 || start > size) return 0;
    long n = (count < 0 || start + count > size) ? size - start : count;
    if (n <= 0) return 0;
    std::vector<T> buf((size_t)n);
    for (long k = 0; k < n; k++) buf[(size_t)k] = array[(int)(start + k)];
    long put = mqln::file_write_bytes(file_handle, buf.data(), (size_t)n * sizeof(T));
    return put < 0 ? 0 : (uint)(put / (long)sizeof(T));
}
