// DNS over c-ares with its sockets watched by libuv (uv_poll) and its
// timeouts driven by a uv_timer: no threads. Shared by egress (MX records
// and host addresses for routing) and the keyservice (TXT records of domain
// validation, through a private loop: keyservice/dns_txt.h).
//
// The servers are configurable (egress.dns.servers, keyservice.dns.servers)
// so tests can point the resolver at a local DNS server on loopback.
//
// Errors: kNotFound when the name does not exist (NXDOMAIN: a permanent
// answer); kUnavailable / kTimeout when DNS could not answer (transient);
// kCancelled after Shutdown. An existing name without records of the asked
// type yields an empty list (NODATA).
//
// Threading: loop thread only; callbacks run on the loop thread.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::dns {

struct Server {
  std::string host;  // IP literal (no brackets)
  uint16_t port = 53;
};

struct ResolverOptions {
  std::vector<Server> servers;  // empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{5'000};
  std::string config_key = "dns.servers";  // names the key in errors
};

struct MxRecord {
  std::string host;
  int preference = 0;
};

class CaresResolver {
 public:
  using MxCallback = std::function<void(Result<std::vector<MxRecord>>)>;
  using AddrCallback = std::function<void(Result<std::vector<sockaddr_storage>>)>;
  // Each TXT record's character-strings joined (RFC 7208 3.3 style).
  using TxtCallback = std::function<void(Result<std::vector<std::string>>)>;

  static Result<std::unique_ptr<CaresResolver>> Create(uv_loop_t* loop,
                                                       const ResolverOptions& options);
  ~CaresResolver();
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  // MX records sorted by preference (lowest first).
  void ResolveMx(const std::string& domain, MxCallback done);
  // IPv4 and IPv6 addresses of `host` (or the literal itself) with `port` set.
  void ResolveAddress(const std::string& host, uint16_t port, AddrCallback done);
  // TXT records of `name`.
  void ResolveTxt(const std::string& name, TxtCallback done);

  // Cancels outstanding queries (their callbacks run with kCancelled) and
  // closes the libuv handles. Call before the loop ends.
  void Shutdown();

 private:
  struct Impl;
  explicit CaresResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg::dns
