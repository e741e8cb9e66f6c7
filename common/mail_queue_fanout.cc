#include "common/mail_queue_fanout.h"

#include <optional>

namespace sg::mailqueue {
namespace {

// An egress answers kNotFound for an id it has no record of in the state the
// operation needs ("no held message ... in the queue").
bool NotHere(const Error& e) { return e.code == ErrorCode::kNotFound; }

Error Named(const std::string& pod, const Error& e) {
  return Error{e.code, pod + ": " + e.message};
}

}  // namespace

Result<std::vector<Entry>> FanOutMailQueue::List() {
  std::vector<Entry> all;
  for (auto& pod : pods_) {
    auto entries = pod.admin->List();
    if (!entries.ok()) return Named(pod.name, entries.error());
    for (auto& e : *entries) all.push_back(std::move(e));
  }
  return all;
}

Result<std::vector<Entry>> FanOutMailQueue::Show(const std::string& message_id) {
  std::vector<Entry> found;
  std::optional<Error> not_found, failed;
  for (auto& pod : pods_) {
    auto entries = pod.admin->Show(message_id);
    if (entries.ok()) {
      for (auto& e : *entries) found.push_back(std::move(e));
    } else if (NotHere(entries.error())) {
      if (!not_found) not_found = entries.error();
    } else if (!failed) {
      failed = Named(pod.name, entries.error());
    }
  }
  if (!found.empty()) return found;
  if (failed) return *failed;
  if (not_found) return *not_found;
  return found;  // no pods
}

template <typename F>
Result<uint32_t> FanOutMailQueue::ChangeWherever(F change) {
  uint32_t changed = 0;
  bool any = false;
  std::optional<Error> not_found, failed;
  for (auto& pod : pods_) {
    Result<uint32_t> r = change(*pod.admin);
    if (r.ok()) {
      changed += *r;
      any = true;
    } else if (NotHere(r.error())) {
      if (!not_found) not_found = r.error();
    } else if (!failed) {
      failed = Named(pod.name, r.error());
    }
  }
  if (any) return changed;
  if (failed) return *failed;
  if (not_found) return *not_found;
  return changed;
}

Result<uint32_t> FanOutMailQueue::Hold(const std::string& message_id, const std::string& who) {
  return ChangeWherever([&](Admin& a) { return a.Hold(message_id, who); });
}

Result<uint32_t> FanOutMailQueue::Release(const std::string& message_id) {
  return ChangeWherever([&](Admin& a) { return a.Release(message_id); });
}

Result<uint32_t> FanOutMailQueue::Delete(const std::string& message_id, const std::string& who) {
  return ChangeWherever([&](Admin& a) { return a.Delete(message_id, who); });
}

Result<uint32_t> FanOutMailQueue::Retry(const std::string& domain) {
  uint32_t changed = 0;
  for (auto& pod : pods_) {
    auto r = pod.admin->Retry(domain);
    if (!r.ok()) return Named(pod.name, r.error());
    changed += *r;
  }
  return changed;
}

}  // namespace sg::mailqueue
