// mql/core_input.hpp - `input` / `sinput` variables (part of mql/core.hpp).
// `input int X=5;` is translated to MQLN_INPUT(int, X, 5): a registered cell and a const
// reference `X` to it, so the program cannot assign it (as in MQL) while the host sets it
// before OnInit through mqln_input_set_* (the runtime's mqln_set_input decodes msgpack).
#pragma once

enum MqlnInputKind { MQLN_INPUT_BOOL = 0, MQLN_INPUT_INT = 1, MQLN_INPUT_DOUBLE = 2, MQLN_INPUT_STRING = 3 };
struct MqlnInputCell {
  MqlnInputKind kind;
  void* cell;
  void (*set_int)(void* cell, long v);
  void (*set_double)(void* cell, double v);
  void (*set_string)(void* cell, const char* utf8);
};
inline std::map<std::string, MqlnInputCell>& mqln_inputs() {
  static std::map<std::string, MqlnInputCell> inputs;
  return inputs;
}
template <class T>
bool mqln_register_input(const char* name, T* cell) {
  MqlnInputCell c{MQLN_INPUT_INT, cell, nullptr, nullptr, nullptr};
  if constexpr (std::is_same_v<T, MqlString>) {
    c.kind = MQLN_INPUT_STRING;
    c.set_string = [](void* p, const char* s) { *static_cast<MqlString*>(p) = MqlString::from_utf8(s ? s : ""); };
  } else if constexpr (std::is_same_v<T, bool>) {
    c.kind = MQLN_INPUT_BOOL;
    c.set_int = [](void* p, long v) { *static_cast<bool*>(p) = v != 0; };
  } else if constexpr (std::is_floating_point_v<T>) {
    c.kind = MQLN_INPUT_DOUBLE;
    c.set_double = [](void* p, double v) { *static_cast<T*>(p) = (T)v; };
    c.set_int = [](void* p, long v) { *static_cast<T*>(p) = (T)v; };
  } else {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>, "input: simple types only");
    c.kind = MQLN_INPUT_INT;
    c.set_int = [](void* p, long v) { *static_cast<T*>(p) = (T)v; };
  }
  mqln_inputs()[name] = c;
  return true;
}
// 0 = set; -1 = no such input or a value of the wrong type
inline int mqln_input_set_int(const char* name, long v) {
  auto it = mqln_inputs().find(name);
  if (it == mqln_inputs().end() || !it->second.set_int) return -1;
  it->second.set_int(it->second.cell, v);
  return 0;
}
inline int mqln_input_set_double(const char* name, double v) {
  auto it = mqln_inputs().find(name);
  if (it == mqln_inputs().end() || !it->second.set_double) return -1;
  it->second.set_double(it->second.cell, v);
  return 0;
}
inline int mqln_input_set_string(const char* name, const char* utf8) {
  auto it = mqln_inputs().find(name);
  if (it == mqln_inputs().end() || !it->second.set_string) return -1;
  it->second.set_string(it->second.cell, utf8);
  return 0;
}
inline int mqln_input_kind(const char* name) {
  auto it = mqln_inputs().find(name);
  return it == mqln_inputs().end() ? -1 : (int)it->second.kind;
}

#define MQLN_INPUT(T, name, value)                                                  \
  static T mqln_input_cell_##name = (value);                                        \
  static const bool mqln_input_reg_##name = mqln_register_input(#name, &mqln_input_cell_##name); \
  static const T& name = mqln_input_cell_##name
