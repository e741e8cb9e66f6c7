#include "egress/egress_body_fetcher.h"

#include <utility>

#include "common/queue_body_ref.h"
#include "common/thread_name.h"

namespace sg::egress {

BodyFetcher::BodyFetcher(queue::Queue& queue, size_t threads) : queue_(queue) {
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      SetCurrentThreadName("sg-egress-body");
      Run();
    });
  }
}

BodyFetcher::~BodyFetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BodyFetcher::Fetch(Job job, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    jobs_.emplace_back(std::move(job), std::move(done));
  }
  cv_.notify_one();
}

void BodyFetcher::Run() {
  while (true) {
    std::pair<Job, Done> next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      next = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Job& job = next.first;
    Status st = queue::ResolveBody(queue_, job.key, job.rec, job.digest);
    next.second(std::move(st), std::move(job.rec));
  }
}

}  // namespace sg::egress
