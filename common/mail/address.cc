#include "common/mail/address.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <cstring>

#include "common/ascii.h"

namespace sg::mail {
namespace {

bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
// RFC 5322 atext (ASCII part).
bool IsAtext(unsigned char c) {
  return IsAlpha(c) || IsDigit(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

Error Invalid(std::string_view address, const std::string& reason) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "\"" + std::string(address) + "\" is not an email address: " + reason);
}

// Dot-string: atoms of atext (or UTF-8 octets, RFC 6531) separated by single dots.
bool IsDotString(std::string_view s) {
  if (s.empty()) return false;
  bool prev_dot = true;  // no leading dot
  for (unsigned char c : s) {
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
      continue;
    }
    prev_dot = false;
    if (c < 128 && !IsAtext(c)) return false;
  }
  return !prev_dot;  // no trailing dot
}

// The content of a Quoted-string local part, unescaped; error text on junk.
Result<std::string> Unquote(std::string_view q) {
  if (q.size() < 2 || q.back() != '"')
    return MakeError(ErrorCode::kInvalidArgument, "unterminated quoted string");
  std::string out;
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    auto c = static_cast<unsigned char>(q[i]);
    if (c == '\\') {
      if (i + 2 >= q.size()) return MakeError(ErrorCode::kInvalidArgument, "dangling backslash");
      auto n = static_cast<unsigned char>(q[++i]);
      if (n < 32 || n == 127) return MakeError(ErrorCode::kInvalidArgument, "control character");
      out.push_back(static_cast<char>(n));
      continue;
    }
    if (c == '"') return MakeError(ErrorCode::kInvalidArgument, "unescaped '\"' inside quotes");
    if (c < 32 || c == 127) return MakeError(ErrorCode::kInvalidArgument, "control character");
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// The normalised local part: unquoted when the content is a Dot-string,
// otherwise quoted with only '"' and '\' escaped; ASCII lower-cased.
Result<std::string> NormalizeLocal(std::string_view local, std::string_view whole) {
  if (local.empty()) return Invalid(whole, "empty local part");
  if (local.size() > kMaxLocalPart) return Invalid(whole, "local part longer than 64 octets");
  std::string content;
  if (local.front() == '"') {
    auto unquoted = Unquote(local);
    if (!unquoted.ok()) return Invalid(whole, "local part: " + unquoted.error().message);
    content = std::move(*unquoted);
  } else if (IsDotString(local)) {
    content = std::string(local);
  } else {
    return Invalid(whole, "local part is neither a dot-atom nor a quoted string");
  }
  AsciiLowerInPlace(content);
  if (IsDotString(content)) return content;
  std::string out = "\"";
  for (char c : content) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool ValidAddressLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  std::string inner(s.substr(1, s.size() - 2));
  unsigned char buf[16];
  if (AsciiEqualsIgnoreCase(std::string_view(inner).substr(0, 5), "IPv6:")) {
    return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  }
  if (inet_pton(AF_INET, inner.c_str(), buf) == 1) return true;
  // General-address-literal: Standardized-tag ":" 1*dcontent (RFC 5321 4.1.3).
  size_t colon = inner.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == inner.size()) return false;
  for (size_t i = 0; i < colon; ++i) {
    auto c = static_cast<unsigned char>(inner[i]);
    if (!IsAlpha(c) && !IsDigit(c) && c != '-') return false;
  }
  for (size_t i = colon + 1; i < inner.size(); ++i) {
    auto c = static_cast<unsigned char>(inner[i]);
    if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\') return false;
  }
  return true;
}

// LDH labels (Let-dig [Ldh-str], 1..63 octets); sets *idna when a label is
// an A-label candidate ("xn--").
bool ValidLdhDomain(std::string_view d, bool* idna) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? d.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (unsigned char c : label) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-') return false;
    }
    if (label.size() > 4 && AsciiEqualsIgnoreCase(label.substr(0, 4), "xn--")) *idna = true;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// A domain name (no trailing dot) to its A-label, lower-case form.
Result<std::string> NormalizeDomainName(std::string_view d, bool* non_ascii) {
  if (d.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty domain");
  if (d.size() > kMaxDomain)
    return MakeError(ErrorCode::kInvalidArgument, "domain longer than 255 octets");
  bool has_8bit = false;
  for (unsigned char c : d) has_8bit |= c >= 128;
  bool idna = has_8bit;
  if (!has_8bit) {
    if (!ValidLdhDomain(d, &idna)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "domain: labels must be letters, digits and inner hyphens, 1 to 63 each");
    }
    if (!idna) return AsciiLower(d);
  } else {
    *non_ascii = true;
    if (!IsValidUtf8(d)) return MakeError(ErrorCode::kInvalidArgument, "domain: invalid UTF-8");
  }
  // U-labels (or A-labels to check): IDNA2008 + UTS #46 non-transitional.
  std::string in(d);
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("domain: not a valid internationalised domain name (") +
                         idn2_strerror(rc) + ")");
  }
  std::string ascii(out);
  idn2_free(out);
  bool ignored = false;
  if (!ValidLdhDomain(ascii, &ignored)) {
    return MakeError(ErrorCode::kInvalidArgument, "domain: its A-label form is not a host name");
  }
  AsciiLowerInPlace(ascii);
  return ascii;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Result<Mailbox> ParseMailbox(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return Invalid(address, "no '@' (expected local@domain)");
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  Mailbox m;
  for (unsigned char c : local) m.non_ascii |= c >= 128;
  if (m.non_ascii && !IsValidUtf8(local)) return Invalid(address, "local part: invalid UTF-8");
  SG_ASSIGN_OR_RETURN(m.local, NormalizeLocal(local, address));
  if (!domain.empty() && domain.front() == '[') {
    if (!ValidAddressLiteral(domain)) return Invalid(address, "domain: bad address literal");
    m.domain = AsciiLower(domain);
    return m;
  }
  auto d = NormalizeDomainName(domain, &m.non_ascii);
  if (!d.ok()) return Invalid(address, d.error().message);
  m.domain = std::move(*d);
  return m;
}

Result<std::string> NormalizeAddress(std::string_view address) {
  SG_ASSIGN_OR_RETURN(Mailbox m, ParseMailbox(address));
  return m.Address();
}

Result<std::string> NormalizeDomain(std::string_view domain) {
  std::string_view d = domain;
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  bool ignored = false;
  auto out = NormalizeDomainName(d, &ignored);
  if (!out.ok()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "\"" + std::string(domain) + "\" is not a domain name: " + out.error().message);
  }
  return out;
}

std::string DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view d = address.substr(at + 1);
  if (!d.empty() && d.front() == '[') return AsciiLower(d);
  bool ignored = false;
  auto out = NormalizeDomainName(d, &ignored);
  return out.ok() ? std::move(*out) : AsciiLower(d);
}

}  // namespace sg::mail
