#include "common/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sg {
namespace {

bool ToV6(std::string_view text, std::array<uint8_t, 16>* out, bool* v4) {
  std::string s(text);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &a4, 4);
    *v4 = true;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out->data(), &a6, 16);
    *v4 = false;
    return true;
  }
  return false;
}

}  // namespace

bool IsIpAddress(std::string_view text) {
  std::array<uint8_t, 16> a{};
  bool v4 = false;
  return text.size() <= INET6_ADDRSTRLEN && ToV6(text, &a, &v4);
}

Result<Cidr> Cidr::Parse(std::string_view text) {
  Cidr c;
  size_t slash = text.find('/');
  bool v4 = false;
  if (!ToV6(text.substr(0, slash), &c.net_, &v4)) {
    std::string msg = "\"";
    msg.append(text);
    msg.append("\" is not an IP address or CIDR network");
    return MakeError(ErrorCode::kInvalidArgument, std::move(msg));
  }
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > max) {
      std::string msg = "\"";
      msg.append(text);
      msg.append("\": prefix length must be 0..");
      msg.append(std::to_string(max));
      return MakeError(ErrorCode::kInvalidArgument, std::move(msg));
    }
  }
  c.prefix_ = v4 ? prefix + 96 : prefix;
  // Clear host bits so Contains can compare whole bytes.
  for (int bit = c.prefix_; bit < 128; ++bit) {
    c.net_[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  return c;
}

bool Cidr::Contains(std::string_view ip) const {
  std::array<uint8_t, 16> a{};
  bool v4 = false;
  if (!ToV6(ip, &a, &v4)) return false;
  for (int bit = 0; bit < prefix_; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((a[bit / 8] & mask) != (net_[bit / 8] & mask)) return false;
  }
  return true;
}

std::string ClientKey(std::string_view ip, int ipv6_prefix) {
  std::array<uint8_t, 16> a{};
  bool v4 = false;
  if (!ToV6(ip, &a, &v4)) return std::string(ip);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (v4 || std::memcmp(a.data(), kMapped, sizeof kMapped) == 0) {
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
    return buf;
  }
  if (ipv6_prefix >= 128) return std::string(ip);
  for (int bit = ipv6_prefix; bit < 128; ++bit) {
    a[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(ipv6_prefix);
}

bool AnyContains(const std::vector<Cidr>& nets, std::string_view ip) {
  for (const Cidr& n : nets) {
    if (n.Contains(ip)) return true;
  }
  return false;
}

}  // namespace sg
