// Record keys shared by the PortalStore implementations (the layout is
// described in portal_store_rocksdb.h; the memory store sorts the same way).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sg::portal::keys {

inline std::string BigEndian(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t FromBigEndian(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

inline std::string Owned(std::string_view recipient, std::string_view id) {
  std::string out(recipient);
  out.push_back('\0');
  out += id;
  return out;
}

inline std::string Message(std::string_view recipient, std::string_view id) {
  return "m" + Owned(recipient, id);
}
inline std::string Content(std::string_view recipient, std::string_view id) {
  return "c" + Owned(recipient, id);
}
inline std::string Source(std::string_view source_key) { return "s" + std::string(source_key); }
inline std::string Expiry(int64_t expires_ms, std::string_view recipient, std::string_view id) {
  return "x" + BigEndian(static_cast<uint64_t>(expires_ms)) + Owned(recipient, id);
}
inline std::string Account(std::string_view address) { return "a" + std::string(address); }
inline std::string Token(std::string_view hash) { return "t" + std::string(hash); }
inline std::string Session(std::string_view hash) { return "z" + std::string(hash); }
inline std::string Key(std::string_view id) { return "k" + std::string(id); }
inline constexpr std::string_view kStats = "!stats";

}  // namespace sg::portal::keys
