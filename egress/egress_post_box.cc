#include "egress/egress_post_box.h"

namespace sg::egress {

void PostBox::Open(uv_async_t* async) {
  std::lock_guard<std::mutex> lock(mu_);
  async_ = async;
}

void PostBox::Close() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    async_ = nullptr;
    dropped.swap(posted_);
  }
  // Destroyed outside the lock: a closure may own the last share of the box.
}

bool PostBox::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (async_ == nullptr) return false;
  posted_.push_back(std::move(fn));
  uv_async_send(async_);
  return true;
}

std::vector<std::function<void()>> PostBox::Take() {
  std::vector<std::function<void()>> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(posted_);
  return out;
}

}  // namespace sg::egress
