// DirectoryRunGuard: at most one run of a directory source at a time.
//
// A run fetches its source (seconds to minutes: Graph paging, Retry-After
// waits, an LDAP listing) before the engine serialises the apply. Without
// this guard a scheduled run and a `smimegatectl directory sync` of the same
// source would both fetch (a Graph source's delta rounds interleaved) and
// plan against each other's half-written state. The second caller gets an
// error at once instead of waiting: its result would be the same run again,
// and waiting could outlast the caller's gRPC deadline; the schedule simply
// tries again at its next poll. Runs of different sources do not block
// each other here.
//
// Threading: thread-safe. A Lease must not outlive its guard.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/result.h"

namespace sg::keyservice {

class DirectoryRunGuard {
 public:
  // Holds the source's run until destroyed (movable, not copyable).
  class Lease {
   public:
    Lease(Lease&& other) noexcept : guard_(other.guard_), source_(std::move(other.source_)) {
      other.guard_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    friend class DirectoryRunGuard;
    Lease(DirectoryRunGuard* guard, std::string source)
        : guard_(guard), source_(std::move(source)) {}
    DirectoryRunGuard* guard_;
    std::string source_;
  };

  // |now_ms|: unix milliseconds (the caller's clock); |who| says who runs it
  // ("the schedule", "smimegatectl directory sync"). kResourceExhausted when
  // the source is running: "directory source hr: a run is in progress since
  // <date> (smimegatectl directory sync); try again when it has finished".
  Result<Lease> Acquire(const std::string& source, int64_t now_ms, const std::string& who);

 private:
  struct Running {
    int64_t since_ms = 0;
    std::string who;
  };
  void Release(const std::string& source);

  std::mutex mu_;
  std::map<std::string, Running> running_;
};

}  // namespace sg::keyservice
