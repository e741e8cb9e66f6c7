#include "ingress/ingress_proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace sg::ingress {
namespace {

constexpr std::string_view kSignature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kFixed = 16;

ProxyV2Result Error(std::string reason, std::string metric) {
  ProxyV2Result r;
  r.state = ProxyV2Result::State::kError;
  r.reason = std::move(reason);
  r.metric_reason = std::move(metric);
  return r;
}

uint16_t Be16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

// Skips the TLVs in `tlvs`; false when one overruns.
bool TlvsFit(std::string_view tlvs) {
  size_t at = 0;
  while (at < tlvs.size()) {
    if (tlvs.size() - at < 3) return false;
    const size_t len = Be16(tlvs, at + 1);
    at += 3;
    if (tlvs.size() - at < len) return false;
    at += len;
  }
  return true;
}

std::string Ip(int family, const char* bytes) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (inet_ntop(family, bytes, buf.data(), buf.size()) == nullptr) return "";
  return buf.data();
}

}  // namespace

ProxyV2Result ParseProxyV2(std::string_view data) {
  const size_t have = std::min(data.size(), kSignature.size());
  if (data.compare(0, have, kSignature.substr(0, have)) != 0) {
    const std::string_view v1 = "PROXY ";
    const size_t n = std::min(data.size(), v1.size());
    if (data.substr(0, n) == v1.substr(0, n)) {
      return Error("a PROXY protocol v1 (text) header on a listener configured for v2", "v1_header");
    }
    return Error("no PROXY protocol v2 signature before the first bytes", "bad_signature");
  }
  if (data.size() < kFixed) return {};
  const auto ver_cmd = static_cast<uint8_t>(data[12]);
  const auto fam = static_cast<uint8_t>(data[13]);
  const size_t len = Be16(data, 14);
  if ((ver_cmd >> 4) != 2) return Error("PROXY protocol version " + std::to_string(ver_cmd >> 4) + ", not 2", "bad_version");
  const int command = ver_cmd & 0x0F;
  if (command > 1) return Error("unknown PROXY protocol command " + std::to_string(command), "bad_command");
  if (kFixed + len > kMaxProxyV2Length) {
    return Error("PROXY protocol header of " + std::to_string(kFixed + len) + " bytes, more than " +
                     std::to_string(kMaxProxyV2Length), "too_long");
  }
  const int family = fam >> 4;
  const int transport = fam & 0x0F;
  if (family > 3) return Error("unknown PROXY protocol address family " + std::to_string(family), "bad_family");
  if (transport > 2) return Error("unknown PROXY protocol transport " + std::to_string(transport), "bad_family");
  if (data.size() < kFixed + len) return {};
  const std::string_view body = data.substr(kFixed, len);
  ProxyV2Result r;
  r.state = ProxyV2Result::State::kDone;
  r.consumed = kFixed + len;
  size_t addr_len = 0;
  if (family == 1) addr_len = 12;
  if (family == 2) addr_len = 36;
  if (family == 3) addr_len = 216;
  if (body.size() < addr_len) {
    return Error("PROXY protocol length " + std::to_string(len) + " is shorter than its addresses (" +
                     std::to_string(addr_len) + " bytes)", "bad_length");
  }
  if (!TlvsFit(body.substr(addr_len))) return Error("a PROXY protocol TLV overruns the header", "bad_tlv");
  if (command == 0 || family == 0 || family == 3) {
    r.local = true;  // the balancer's own connection, or no IP: keep the socket's address
    return r;
  }
  if (transport != 1) return Error("PROXY protocol transport is not STREAM", "bad_family");
  if (family == 1) {
    r.source_ip = Ip(AF_INET, body.data());
    r.source_port = Be16(body, 8);
  } else {
    r.source_ip = Ip(AF_INET6, body.data());
    r.source_port = Be16(body, 32);
    // An IPv4 client through an IPv6 balancer: record a.b.c.d, as for sockets.
    if (r.source_ip.rfind("::ffff:", 0) == 0 && r.source_ip.find('.') != std::string::npos) {
      r.source_ip = r.source_ip.substr(7);
    }
  }
  return r;
}

}  // namespace sg::ingress
