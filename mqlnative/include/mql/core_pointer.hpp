// mql/core_pointer.hpp - object pointers (part of mql/core.hpp). MQL Reference: Object
// Pointers, GetPointer, CheckPointer. The translator rewrites `new T(...)` to
// mqln_new<T>(...) and `delete p` to mqln_delete(p), so CheckPointer can tell objects made
// with new (POINTER_DYNAMIC) from automatic ones; a pointer to a destroyed automatic object
// is not detected (documented limit).
#pragma once

enum ENUM_POINTER_TYPE { POINTER_INVALID = 0, POINTER_DYNAMIC = 1, POINTER_AUTOMATIC = 2 };

inline std::set<const void*>& mqln_dynamic_objects() {
  static std::set<const void*> objects;
  return objects;
}
template <class T, class... A>
T* mqln_new(A&&... args) {
  T* p = new T(std::forward<A>(args)...);
  mqln_dynamic_objects().insert(static_cast<const void*>(p));
  return p;
}
template <class T>
void mqln_delete(T* p) {
  if (p == nullptr) return;
  auto& objects = mqln_dynamic_objects();
  auto it = objects.find(static_cast<const void*>(p));
  if (it == objects.end()) {   // MQL logs it and carries on
    mqln_log("delete invalid pointer");
    return;
  }
  objects.erase(it);
  delete p;
}
template <class T> T* GetPointer(T& anobject) { return &anobject; }
template <class T> T* GetPointer(T* anobject) { return anobject; }
template <class T>
ENUM_POINTER_TYPE CheckPointer(const T* anobject) {
  if (anobject == nullptr) return POINTER_INVALID;
  return mqln_dynamic_objects().count(static_cast<const void*>(anobject)) ? POINTER_DYNAMIC : POINTER_AUTOMATIC;
}
