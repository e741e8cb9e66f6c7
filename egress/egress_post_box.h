// Work handed to the egress loop from other threads: queue produce
// callbacks and the dedupe syncer post closures that the loop runs.
//
// Shared ownership is the point: a produce callback may run after the
// service stopped waiting for it (a flush that timed out) or after the
// service is gone. It holds a share of the box, finds it closed and drops
// its closure; it never touches the service. Closures run only on the loop
// while the box is open, so they may capture the service.
//
// Threading: Post from any thread; Open, Take and Close on the loop thread.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

namespace sg::egress {

class PostBox {
 public:
  // Posts wake `async` (initialised on the loop) from now on.
  void Open(uv_async_t* async);
  // Drops what is pending; later posts are dropped too.
  void Close();
  // Queues `fn` for the loop; a no-op once closed (what it was for stays
  // uncommitted in the queue and is delivered again). False when closed.
  bool Post(std::function<void()> fn);
  // Everything posted so far, in order.
  std::vector<std::function<void()>> Take();

 private:
  std::mutex mu_;
  uv_async_t* async_ = nullptr;  // guarded by mu_; null when closed
  std::vector<std::function<void()>> posted_;
};

}  // namespace sg::egress
