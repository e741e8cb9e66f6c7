// ASCII case handling: the one lower-casing (and upper-casing) helper of the tree.
//
// Protocol tokens (SMTP verbs, header field names, MIME types and parameter
// names, domain names, config keywords) are case-insensitive in ASCII only.
// These helpers change the 26 letters A-Z and no other byte, so UTF-8 text
// passes through unchanged and the result never depends on the C locale
// (std::tolower does). Addresses are normalised by common/mail/address.h,
// which lower-cases with these.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace sg {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char AsciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// A copy of |s| with A-Z lower-cased.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// A copy of |s| with a-z upper-cased (SMTP verbs and keywords).
inline std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

// Lower-cases A-Z of |s| in place.
inline void AsciiLowerInPlace(std::string& s) {
  for (char& c : s) c = AsciiLower(c);
}

// ASCII case-insensitive equality ("Content-Type" == "content-type").
constexpr bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// |s| without leading and trailing bytes of |chars| (by default the C
// locale's white space: space, tab, CR, LF, VT, FF). Protocols name their
// own set: HTTP's optional white space is " \t", a MIME header's " \t\r\n".
constexpr std::string_view AsciiTrim(std::string_view s,
                                     std::string_view chars = " \t\r\n\v\f") {
  const size_t b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(chars) - b + 1);
}

}  // namespace sg
