// The portal's HTTP workers (review H2, docs/portal.md "Connections"): the
// task queue cpp-httplib runs every accepted connection on, and a limit of
// connections per client.
//
// cpp-httplib 0.11 runs one job per accepted connection, from the TLS
// handshake through every keep-alive request until the socket closes, so a
// worker is held for as long as a client keeps its connection open (up to
// the read timeout while it sends nothing). This pool has `threads` workers
// and remembers, per worker, which client its current connection belongs
// to. Admit() (called for each request, before its body is read) counts a
// connection once, under its client's key (sg::ClientKey: an IPv4 address,
// an IPv6 /64, the same key as the login limiter's per-IP count), and
// refuses it when that key already holds `per_ip` other connections AND
// the pool is under pressure (more than half the workers busy, review R6):
// in normal load, many readers behind one NAT address are never refused;
// when workers run short, one client cannot take more than its share.
//
// Behind a reverse proxy the client is the one PortalWeb resolves from
// X-Forwarded-For (portal_web_client.h), taken from the connection's FIRST
// request: a proxy that reuses an upstream connection for several clients
// (nginx `keepalive` upstreams) has the connection counted under the first
// one. nginx's default (a new upstream connection per request) counts each
// request's own client.
//
// What it cannot do (httplib 0.11 has no accept hook and its task queue
// cannot refuse a job): limit connections that never finish the TLS
// handshake or never send a request line, or bound the list of accepted
// sockets waiting for a worker. An internet-facing portal therefore sits
// behind a reverse proxy with per-IP limits (docs/portal.md).
//
// Threading: enqueue/shutdown from httplib's listener thread; Admit from
// the workers; Connections/Busy from any thread.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sg::portal {

class ConnectionPool : public httplib::TaskQueue {
 public:
  // per_ip 0: no limit per IP.
  ConnectionPool(size_t threads, size_t per_ip);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // For a request on the calling worker's connection: true when it may go
  // on (its client is counted once per connection); false when the key of
  // `ip` already holds per_ip other connections while more than half the
  // workers are busy (refuse and close). True on a thread that is not a
  // worker of a ConnectionPool (nothing to count).
  static bool Admit(const std::string& ip);
  // Connections counted under the key of `ip` that are still open.
  size_t Connections(const std::string& ip) const;
  // Workers running a connection now.
  size_t Busy() const;

 private:
  void Work();
  bool Count(const std::string& ip);
  void Release(const std::string& key);

  const size_t per_ip_;
  const size_t threads_count_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  size_t busy_ = 0;
  std::unordered_map<std::string, size_t> connections_;
  std::vector<std::thread> threads_;
};

}  // namespace sg::portal
