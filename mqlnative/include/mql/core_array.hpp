// mql/core_array.hpp - MQL arrays (part of mql/core.hpp).
// `T a[]` is translated to MqlArray<T> (dynamic), `T a[N]` to MqlFixedArray<T,N> (static:
// ArrayResize refuses it). Every index is checked: out of range is MQL's critical error
// "array out of range", reported with the MQL file and line of the access (the translator
// emits #line, and MqlIndex captures the caller's location).
#pragma once

struct MqlIndex {
  long v;
  const char* file;
  int line;
  template <class I, class = std::enable_if_t<std::is_integral_v<I> || std::is_enum_v<I>>>
  MqlIndex(I i, const char* f = __builtin_FILE(), int l = __builtin_LINE()) : file(f), line(l) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(long))
      v = (i > (I)LONG_MAX) ? -1 : (long)i;
    else
      v = (long)i;
  }
};

template <class T>
class MqlArray {
  std::unique_ptr<T[]> data_;
  int size_ = 0;
  int cap_ = 0;
  bool fixed_ = false;

  void reallocate(int cap) {
    std::unique_ptr<T[]> fresh(new T[cap > 0 ? cap : 1]());
    for (int k = 0; k < size_ && k < cap; k++) fresh[k] = std::move(data_[k]);
    data_ = std::move(fresh);
    cap_ = cap;
  }

 protected:
  void make_fixed(int n) {
    reallocate(n);
    size_ = n;
    fixed_ = true;
  }

 public:
  typedef T value_type;
  MqlArray() {}
  MqlArray(std::initializer_list<T> init) {   // `T a[]={...}`: a static array of that size
    make_fixed((int)init.size());
    int k = 0;
    for (const T& x : init) data_[k++] = x;
  }
  MqlArray(const MqlArray& o) { *this = o; }
  MqlArray& operator=(const MqlArray& o) {   // struct copies carry their arrays
    if (this == &o) return *this;
    std::unique_ptr<T[]> fresh(new T[o.size_ > 0 ? o.size_ : 1]());
    for (int k = 0; k < o.size_; k++) fresh[k] = o.data_[k];
    data_ = std::move(fresh);
    cap_ = o.size_ > 0 ? o.size_ : 1;
    size_ = o.size_;
    fixed_ = o.fixed_;
    return *this;
  }
  T& operator[](MqlIndex i) {
    if (i.v < 0 || i.v >= size_) mqln_critical("array out of range", i.file, i.line);
    return data_[i.v];
  }
  const T& operator[](MqlIndex i) const {
    if (i.v < 0 || i.v >= size_) mqln_critical("array out of range", i.file, i.line);
    return data_[i.v];
  }
  int size() const { return size_; }
  bool is_fixed() const { return fixed_; }
  // MQL ArrayResize: dynamic arrays only; new elements are zero/empty (deterministic here,
  // undefined in MQL), `reserve` extra elements are allocated ahead.
  int resize(int n, int reserve) {
    if (fixed_ || n < 0) return -1;
    if (n > cap_ || (n + (reserve > 0 ? reserve : 0)) > cap_) {
      if (n > cap_) reallocate(n + (reserve > 0 ? reserve : 0));
    }
    for (int k = size_; k < n; k++) data_[k] = T();
    size_ = n;
    return n;
  }
  void free_all() {
    if (fixed_) return;
    data_.reset();
    size_ = 0;
    cap_ = 0;
  }
};

template <class T, int N>
class MqlFixedArray : public MqlArray<T> {
 public:
  static_assert(N > 0, "MQL static array size must be positive");
  MqlFixedArray() { this->make_fixed(N); }
  MqlFixedArray(std::initializer_list<T> init) {
    if ((int)init.size() > N) mqln_critical("too many initializers", __FILE__, __LINE__);
    this->make_fixed(N);
    int k = 0;
    for (const T& x : init) (*this)[k++] = x;
  }
};

// ---- Array functions (MQL5 Reference, Array Functions) ----
template <class T> int ArraySize(const MqlArray<T>& array) { return array.size(); }
template <class T> int ArrayRange(const MqlArray<T>& array, const int rank_index) { return rank_index == 0 ? array.size() : 0; }
template <class T> bool ArrayIsDynamic(const MqlArray<T>& array) { return !array.is_fixed(); }
template <class T> int ArrayResize(MqlArray<T>& array, const int new_size, const int reserve_size = 0) {
  return array.resize(new_size, reserve_size);
}
template <class T> void ArrayFree(MqlArray<T>& array) { array.free_all(); }
template <class T, class V, class = std::enable_if_t<std::is_arithmetic_v<V> || std::is_enum_v<V>>>
int ArrayInitialize(MqlArray<T>& array, const V value) {
  static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "ArrayInitialize: numeric arrays only");
  for (int k = 0; k < array.size(); k++) array[k] = (T)value;
  return array.size();
}
template <class T, class V>
void ArrayFill(MqlArray<T>& array, const int start, const int count, const V value) {
  for (int k = start; k < start + count && k < array.size(); k++) array[k] = (T)value;
}
// copies `count` elements (WHOLE_ARRAY: to the end of src) from src[src_start] to
// dst[dst_start]; a dynamic dst grows to fit. Returns the number of elements copied.
template <class T>
int ArrayCopy(MqlArray<T>& dst_array, const MqlArray<T>& src_array, const int dst_start = 0,
              const int src_start = 0, const int count = WHOLE_ARRAY) {
  if (src_start < 0 || dst_start < 0 || src_start >= src_array.size()) return 0;
  int n = src_array.size() - src_start;
  if (count >= 0 && count < n) n = count;
  if (dst_start + n > dst_array.size()) {
    if (dst_array.is_fixed()) n = dst_array.size() - dst_start;
    else dst_array.resize(dst_start + n, 0);
  }
  if (n <= 0) return 0;
  if (&dst_array == &src_array && dst_start > src_start) {
    for (int k = n - 1; k >= 0; k--) dst_array[dst_start + k] = src_array[src_start + k];
  } else {
    for (int k = 0; k < n; k++) dst_array[dst_start + k] = src_array[src_start + k];
  }
  return n;
}
template <class T>
int ArrayMaximum(const MqlArray<T>& array, const int start = 0, const int count = WHOLE_ARRAY) {
  int end = (count < 0 || start + count > array.size()) ? array.size() : start + count;
  int best = -1;
  for (int k = start; k < end; k++) if (best < 0 || array[k] > array[best]) best = k;
  return best;
}
template <class T>
int ArrayMinimum(const MqlArray<T>& array, const int start = 0, const int count = WHOLE_ARRAY) {
  int end = (count < 0 || start + count > array.size()) ? array.size() : start + count;
  int best = -1;
  for (int k = start; k < end; k++) if (best < 0 || array[k] < array[best]) best = k;
  return best;
}
// ArraySort: numeric arrays, ascending. MQL5: bool ArraySort(void& array[]).
// MQL4: int ArraySort(void& array[], int count=WHOLE_ARRAY, int start=0, int direction=MODE_ASCEND).
#ifndef MODE_ASCEND
#define MODE_ASCEND 1
#define MODE_DESCEND 2
#endif
template <class T>
void mqln_sort_range(MqlArray<T>& array, int start, int end, bool descending) {
  static_assert(std::is_arithmetic_v<T>, "ArraySort: numeric arrays only");
  for (int k = start + 1; k < end; k++) {   // insertion sort: stable, no allocation
    T x = array[k];
    int j = k - 1;
    while (j >= start && (descending ? array[j] < x : x < array[j])) { array[j + 1] = array[j]; j--; }
    array[j + 1] = x;
  }
}
#ifdef __MQL4__
template <class T>
int ArraySort(MqlArray<T>& array, const int count = WHOLE_ARRAY, const int start = 0, const int direction = MODE_ASCEND) {
  if (start < 0 || start > array.size()) return 0;
  int end = (count < 0 || start + count > array.size()) ? array.size() : start + count;
  mqln_sort_range(array, start, end, direction == MODE_DESCEND);
  return end - start;
}
#else
template <class T>
bool ArraySort(MqlArray<T>& array) {
  mqln_sort_range(array, 0, array.size(), false);
  return true;
}
#endif
