// The one assertion of the fuzz targets: a broken property names itself and
// aborts, which libFuzzer and fuzz_smoke_main.cc both report as a crash
// (with the input saved). Active in every build type, unlike assert().
#pragma once

#include <cstdio>
#include <cstdlib>

#define SG_FUZZ_CHECK(cond)                                                                    \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz property violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

#include <string_view>

namespace sg::fuzz {

// Prints where two byte strings first differ (escaped, with context).
inline void PrintFirstDifference(std::string_view a, std::string_view b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto show = [i](const char* label, std::string_view s) {
    size_t from = i > 40 ? i - 40 : 0;
    std::fprintf(stderr, "  %s (%zu bytes) at %zu: \"", label, s.size(), i);
    for (size_t k = from; k < s.size() && k < i + 40; ++k) {
      unsigned char c = static_cast<unsigned char>(s[k]);
      if (c >= 32 && c < 127 && c != '\\') {
        std::fputc(c, stderr);
      } else {
        std::fprintf(stderr, "\\x%02x", c);
      }
    }
    std::fprintf(stderr, "\"\n");
  };
  show("left ", a);
  show("right", b);
}

}  // namespace sg::fuzz

// Two byte strings must be equal; on failure both are shown where they differ.
#define SG_FUZZ_CHECK_EQ(a, b)                                                             \
  do {                                                                                     \
    if (!((a) == (b))) {                                                                   \
      std::fprintf(stderr, "fuzz property violated: %s == %s (%s:%d)\n", #a, #b, __FILE__, \
                   __LINE__);                                                              \
      ::sg::fuzz::PrintFirstDifference((a), (b));                                          \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
