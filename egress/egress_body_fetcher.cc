#include "egress/egress_body_fetcher.h"

#include <utility>

#include "common/queue_body_ref.h"

namespace sg::egress {

BodyFetcher::BodyFetcher(queue::Queue& queue, size_t threads)
    : queue_(queue), pool_({"sg-egress-body", threads, ThreadPool::kUnbounded}) {}

BodyFetcher::~BodyFetcher() { pool_.Stop(ThreadPool::StopMode::kDropQueued); }

void BodyFetcher::Fetch(Job job, Done done) {
  // Refused only once the destructor began: the job is dropped, as documented.
  [[maybe_unused]] const bool queued = pool_.Post(
      [this, job = std::move(job), done = std::move(done)]() mutable {
        Status st = queue::ResolveBody(queue_, job.key, job.rec, job.digest);
        done(std::move(st), std::move(job.rec));
      });
}

}  // namespace sg::egress
