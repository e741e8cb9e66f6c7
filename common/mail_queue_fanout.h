// FanOutMailQueue: one mailqueue::Admin over the queues of several egress
// processes (the distributed mode: an egress StatefulSet of N pods, each
// with its own deferred and held mail), for `smimegatectl queue --egress A
// --egress B ...`.
//
//   List     every pod's records, one list (summary is computed from it);
//            any pod failing fails the call: a partial picture of the queue
//            would read as "nothing queued" for the pod that did not answer.
//   Show, Hold, Release, Delete
//            go to every pod; a message is held by one pod, the others answer
//            kNotFound, which is not an error here. The
//            answer: the records (Show) or changed counts (sum) of the pods
//            that had it; when none had it, the first pod's not-found error;
//            when a pod failed otherwise and none had it, that pod's error,
//            naming it (the message may be on the pod that did not answer).
//   Retry    every pod; the sum; any pod failing fails the call, naming it.
//
// Threading: as thread-safe as the pods' Admins; calls them one after the
// other. Ownership: owns the pods' Admins.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/mail_queue.h"

namespace sg::mailqueue {

class FanOutMailQueue final : public Admin {
 public:
  struct Pod {
    std::string name;  // names the pod in errors ("egress 10.0.0.7:7444")
    std::unique_ptr<Admin> admin;
  };
  explicit FanOutMailQueue(std::vector<Pod> pods) : pods_(std::move(pods)) {}

  Result<std::vector<Entry>> List() override;
  Result<std::vector<Entry>> Show(const std::string& message_id) override;
  Result<uint32_t> Hold(const std::string& message_id, const std::string& who) override;
  Result<uint32_t> Release(const std::string& message_id) override;
  Result<uint32_t> Delete(const std::string& message_id, const std::string& who) override;
  Result<uint32_t> Retry(const std::string& domain) override;

 private:
  // Runs `change` on every pod with the rules of Hold/Release/Delete.
  template <typename F>
  Result<uint32_t> ChangeWherever(F change);

  std::vector<Pod> pods_;
};

}  // namespace sg::mailqueue
