// Big-endian integer encoding for keys that must sort by number (the
// embedded queue's RocksDB keys) and for fixed-width values.
//
// Threading: pure functions. Errors: none; Get* read exactly 4 / 8 bytes
// the caller has checked are there.
#pragma once

#include <cstdint>
#include <string>

namespace sg {

inline void PutU32BE(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutU64BE(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint32_t GetU32BE(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline uint64_t GetU64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace sg
