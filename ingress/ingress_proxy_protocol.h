// The PROXY protocol version 2 header (HAProxy's proxy-protocol.txt, section
// 2.2) that a load balancer sends before any byte of the client's: the
// client's real address, so that every IP-based rule of a listener
// (trusted networks, rate limits, logs) sees the client and not the load
// balancer. Binary only: a version 1 (text) header is refused.
//
//   12-byte signature, version/command (0x20 LOCAL, 0x21 PROXY), family and
//   transport (AF_UNSPEC/AF_INET/AF_INET6/AF_UNIX, STREAM), 16-bit length of
//   the rest, the addresses, then TLVs (type, 16-bit length, value), which
//   are skipped with bounds checks.
//
// LOCAL (the balancer's own health check) and families without an IP
// (UNSPEC, UNIX) keep the connection's own address.
//
// Errors (ParseProxyV2 returns kError with a reason): wrong signature, a v1
// header, version not 2, unknown command or family, a datagram transport,
// a length above kMaxProxyV2Length, an address block or TLV that does not
// fit the length.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg::ingress {

// The largest header accepted (16-byte fixed part included). Real balancers
// send far less (HAProxy with SSL TLVs, AWS NLB with its VPC endpoint TLV:
// a few hundred bytes); more is refused instead of buffered.
inline constexpr size_t kMaxProxyV2Length = 1024;

struct ProxyV2Result {
  enum class State { kNeedMore, kDone, kError };
  State state = State::kNeedMore;
  size_t consumed = 0;  // kDone: header bytes to drop from the stream
  bool local = false;   // LOCAL command or no IP family: keep the socket's address
  std::string source_ip;  // kDone and !local: the client
  uint16_t source_port = 0;
  std::string reason;  // kError: what was wrong, for the log
  std::string metric_reason;  // kError: bounded label ("bad_signature", "v1_header", ...)
};

// Parses the start of `data` (the bytes received so far). kNeedMore until
// the whole header is there; refuses as soon as the bytes cannot be a v2
// header, so a client that sends SMTP (or a v1 header) is refused at once.
ProxyV2Result ParseProxyV2(std::string_view data);

}  // namespace sg::ingress
