#include "portal/portal_totp.h"

#include <cctype>

#include "portal/portal_crypto.h"

namespace sg::portal {
namespace {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string Hotp(std::string_view secret, uint64_t counter, int digits, std::string_view digest) {
  std::string msg(8, '\0');
  for (int i = 7; i >= 0; --i) {
    msg[static_cast<size_t>(i)] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  const std::string mac = Hmac(digest, secret, msg);
  if (mac.empty()) return {};
  // Dynamic truncation (RFC 4226 section 5.3).
  const size_t offset = static_cast<unsigned char>(mac.back()) & 0x0f;
  const uint32_t bin = (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset]) & 0x7f) << 24) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 1])) << 16) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 2])) << 8) |
                       static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 3]));
  uint64_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::string code = std::to_string(bin % mod);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

std::string Totp(std::string_view secret, int64_t unix_seconds, int digits,
                 std::string_view digest, int step) {
  return Hotp(secret, static_cast<uint64_t>(unix_seconds / step), digits, digest);
}

std::optional<int64_t> VerifyTotp(std::string_view secret, std::string_view code,
                                  int64_t unix_seconds, int64_t last_used_step) {
  if (code.size() != 6) return std::nullopt;
  const int64_t now_step = unix_seconds / 30;
  std::optional<int64_t> match;
  // Every candidate is computed and compared, so the time does not say which matched.
  for (int64_t s = now_step - 1; s <= now_step + 1; ++s) {
    if (s < 0) continue;
    if (ConstantTimeEqual(Hotp(secret, static_cast<uint64_t>(s)), code) && s > last_used_step) {
      match = s;
    }
  }
  return match;
}

std::string Base32(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kAlphabet[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (5 - bits)) & 31];
  return out;
}

std::string OtpAuthUri(std::string_view issuer, std::string_view address,
                       std::string_view secret) {
  return "otpauth://totp/" + PercentEncode(issuer) + ":" + PercentEncode(address) +
         "?secret=" + Base32(secret) + "&issuer=" + PercentEncode(issuer) +
         "&algorithm=SHA1&digits=6&period=30";
}

}  // namespace sg::portal
