#include "common/mail/der.h"

namespace sg::mail {

void AppendDerLength(std::string& out, size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
    return;
  }
  char buf[sizeof(size_t)];
  int n = 0;
  for (size_t v = len; v != 0; v >>= 8) buf[n++] = static_cast<char>(v & 0xFF);
  out.push_back(static_cast<char>(0x80 | n));
  while (n > 0) out.push_back(buf[--n]);
}

std::string DerTlv(unsigned char tag, std::string_view content) {
  std::string out;
  out.reserve(content.size() + 2 + sizeof(size_t));
  out.push_back(static_cast<char>(tag));
  AppendDerLength(out, content.size());
  out.append(content);
  return out;
}

}  // namespace sg::mail
