// Owning pointers for the GMime/GLib objects the portal's mail code uses
// (portal_mime.cc reads messages, portal_mail.cc writes them).
//
// Threading: plain values.
#pragma once

#include <gmime/gmime.h>

#include <memory>

namespace sg::portal {

struct GFree {
  void operator()(char* p) const { g_free(p); }
};
// A string GLib allocated (g_free).
using GCharPtr = std::unique_ptr<char, GFree>;

template <typename T>
struct Unref {
  void operator()(T* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
// A GObject reference (g_object_unref).
template <typename T>
using GPtr = std::unique_ptr<T, Unref<T>>;

}  // namespace sg::portal
