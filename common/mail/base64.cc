#include "common/mail/base64.h"

#include <array>
#include <cstdint>

namespace sg::mail {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  Base64EncodeAppend(in, out);
  return out;
}

void Base64EncodeAppend(std::string_view in, std::string& out) {
  size_t n = in.size();
  size_t quads = (n + 2) / 3;
  size_t lines = (quads + 18) / 19;  // 19 quads = 76 characters per line
  const size_t start = out.size();
  // resize_and_overwrite is C++23; resize zero-fills, one cheap pass.
  out.resize(start + quads * 4 + lines * 2);
  char* w = out.data() + start;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  auto quad = [&w](uint32_t v) {
    w[0] = kB64[(v >> 18) & 63];
    w[1] = kB64[(v >> 12) & 63];
    w[2] = kB64[(v >> 6) & 63];
    w[3] = kB64[v & 63];
    w += 4;
  };
  // Whole 57-byte input lines without per-byte branches, then the tail.
  size_t i = 0;
  for (; i + 57 <= n; i += 57) {
    for (size_t j = i; j < i + 57; j += 3) {
      quad(static_cast<uint32_t>(p[j]) << 16 | static_cast<uint32_t>(p[j + 1]) << 8 | p[j + 2]);
    }
    *w++ = '\r';
    *w++ = '\n';
  }
  if (i < n) {
    for (; i + 3 <= n; i += 3) {
      quad(static_cast<uint32_t>(p[i]) << 16 | static_cast<uint32_t>(p[i + 1]) << 8 | p[i + 2]);
    }
    if (i < n) {
      uint32_t v = static_cast<uint32_t>(p[i]) << 16;
      if (i + 1 < n) v |= static_cast<uint32_t>(p[i + 1]) << 8;
      quad(v);
      w[-1] = '=';
      if (i + 1 >= n) w[-2] = '=';
    }
    *w++ = '\r';
    *w++ = '\n';
  }
  out.resize(static_cast<size_t>(w - out.data()));
}

namespace {
// Base64 value of each byte shifted into place for each position of a
// quantum; bit 31 marks a byte outside the alphabet.
struct Base64DecodeTables {
  uint32_t t[4][256];
};
constexpr Base64DecodeTables MakeBase64DecodeTables() {
  Base64DecodeTables d{};
  for (int pos = 0; pos < 4; ++pos) {
    for (int c = 0; c < 256; ++c) d.t[pos][c] = 0x80000000u;
    for (int v = 0; v < 64; ++v) {
      d.t[pos][static_cast<unsigned char>(kB64[v])] = static_cast<uint32_t>(v) << (18 - 6 * pos);
    }
  }
  return d;
}
constexpr Base64DecodeTables kDec = MakeBase64DecodeTables();
}  // namespace

Result<std::string> Base64Decode(std::string_view in) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out(in.size() / 4 * 3 + 3, '\0');
  char* w = out.data();
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  size_t i = 0;
  while (i < n) {
    // Fastest path: a whole 76-column line (19 quanta) and its line break,
    // as every MIME encoder writes them. Four shifted tables turn each
    // quantum into one OR of four lookups; an invalid character sets bit 31,
    // checked once per line (the line is then redone by the paths below).
    if (bits == 0 && !padding && i + 77 <= n &&
        (p[i + 76] == '\n' || (p[i + 76] == '\r' && i + 78 <= n && p[i + 77] == '\n'))) {
      uint32_t bad = 0;
      char* line_w = w;
      for (size_t k = 0; k < 76; k += 4) {
        uint32_t v = kDec.t[0][p[i + k]] | kDec.t[1][p[i + k + 1]] | kDec.t[2][p[i + k + 2]] |
                     kDec.t[3][p[i + k + 3]];
        bad |= v;
        line_w[0] = static_cast<char>(v >> 16);
        line_w[1] = static_cast<char>(v >> 8);
        line_w[2] = static_cast<char>(v);
        line_w += 3;
      }
      if ((bad & 0x80000000u) == 0) {
        w = line_w;
        i += p[i + 76] == '\n' ? 77 : 78;
        continue;
      }
    }
    // Fast path: four alphabet characters on a quantum boundary.
    if (bits == 0 && !padding && i + 4 <= n) {
      int a = table[p[i]], b = table[p[i + 1]], c = table[p[i + 2]], d = table[p[i + 3]];
      if ((a | b | c | d) >= 0) {
        uint32_t v = static_cast<uint32_t>(a) << 18 | static_cast<uint32_t>(b) << 12 |
                     static_cast<uint32_t>(c) << 6 | static_cast<uint32_t>(d);
        w[0] = static_cast<char>(v >> 16);
        w[1] = static_cast<char>(v >> 8);
        w[2] = static_cast<char>(v);
        w += 3;
        i += 4;
        continue;
      }
    }
    unsigned char ch = p[i++];
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    if (ch == '=') {
      padding = true;
      continue;
    }
    int8_t v = table[ch];
    if (v < 0 || padding) {
      return MakeError(ErrorCode::kInvalidArgument, "base64: invalid character in encoded data");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *w++ = static_cast<char>((acc >> bits) & 0xFF);
    }
    if (bits == 0) acc = 0;
  }
  out.resize(static_cast<size_t>(w - out.data()));
  return out;
}

std::string Base64EncodeOneLine(std::string_view in) {
  std::string out;
  Base64EncodeAppend(in, out);
  // The MIME form with its line breaks removed: one implementation of the
  // alphabet and padding (SASL and key files are short; speed is moot).
  size_t w = 0;
  for (char c : out) {
    if (c != '\r' && c != '\n') out[w++] = c;
  }
  out.resize(w);
  return out;
}

Result<std::string> Base64DecodeStrict(std::string_view in) {
  if (in.size() % 4 != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "base64: length is not a multiple of 4");
  }
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < in.size() - pad; ++i) {
    const char c = in[i];
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!alphabet) {
      return MakeError(ErrorCode::kInvalidArgument, c == '='
                                                        ? "base64: '=' before the end"
                                                        : "base64: character outside the alphabet");
    }
  }
  return Base64Decode(in);
}

// Branch-free passes the compiler vectorises: the character set, then what
// follows the first '=' (the S/MIME well-formedness check runs it on every
// base64 body before decoding).
bool Base64Wellformed(std::string_view body) {
  unsigned bad = 0;
  for (char ch : body) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'A' && c <= 'Z') | (c >= 'a' && c <= 'z') | (c >= '0' && c <= '9') |
                    (c == '+') | (c == '/') | (c == '=') | (c == ' ') | (c == '\t') |
                    (c == '\r') | (c == '\n');
    bad |= static_cast<unsigned>(!ok);
  }
  if (bad != 0) return false;
  const size_t pad = body.find('=');
  if (pad == std::string_view::npos) return true;
  unsigned after = 0;
  for (char ch : body.substr(pad)) {
    after |= static_cast<unsigned>(ch != '=' && ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n');
  }
  return after == 0;
}

}  // namespace sg::mail
