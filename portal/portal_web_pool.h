// The portal's HTTP workers (review H2, docs/portal.md "Connections"): the
// task queue cpp-httplib runs every accepted connection on, and a limit of
// connections per client IP.
//
// cpp-httplib 0.11 runs one job per accepted connection, from the TLS
// handshake through every keep-alive request until the socket closes, so a
// worker is held for as long as a client keeps its connection open (up to
// the read timeout while it sends nothing). This pool has `threads` workers
// and remembers, per worker, which client IP its current connection belongs
// to: Admit() (called for each request, before its body is read) refuses a
// connection whose IP already holds `per_ip` other connections, so one
// address cannot take every worker with slow requests or keep-alive.
//
// What it cannot do (httplib 0.11 has no accept hook and its task queue
// cannot refuse a job): limit connections that never finish the TLS
// handshake or never send a request line, or bound the list of accepted
// sockets waiting for a worker. An internet-facing portal therefore sits
// behind a reverse proxy with per-IP limits (docs/portal.md).
//
// Threading: enqueue/shutdown from httplib's listener thread; Admit from
// the workers; Connections from any thread.
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
  // on (its IP is counted once per connection); false when `ip` already
  // holds per_ip other connections (refuse and close). True on a thread
  // that is not a worker of a ConnectionPool (nothing to count).
  static bool Admit(const std::string& ip);
  // Connections of `ip` that have sent a request and are still open.
  size_t Connections(const std::string& ip) const;

 private:
  void Work();
  bool Count(const std::string& ip);
  void Release(const std::string& ip);

  const size_t per_ip_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::unordered_map<std::string, size_t> connections_;
  std::vector<std::thread> threads_;
};

}  // namespace sg::portal
