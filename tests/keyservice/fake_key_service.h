// FakeKeyService: an in-memory KeyService for the worker-cache tests.
//
// Encryption certificates, signing identities, decryption keys and
// participation are set by the test; every change publishes an event on a
// real ChangeLog, like the keyservice does. Restart() replaces the change
// log (new epoch: callers get `reset`). `unavailable` makes every call fail
// with kUnavailable; `latency` delays every lookup (a remote keyservice);
// `on_fetch` runs inside GetEncryptionCertificate after the answer was read
// (to race an invalidation against a fetch). Calls are counted per method.
//
// Threading: thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "keyservice/change_log.h"
#include "keyservice/key_service.h"

namespace sg::keyservice::testing {

class FakeKeyService : public KeyService {
 public:
  FakeKeyService() : log_(std::make_unique<ChangeLog>()) {}

  void SetCertificate(const std::string& address, std::optional<EncryptionCertificate> cert) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      certs_[address] = std::move(cert);
    }
    Log()->Publish("certificate", address);
  }
  void SetSigning(const std::string& address, SigningIdentity id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      signing_[address] = std::move(id);
      participates_[address] = true;
    }
    Log()->Publish("key", address);
  }
  void SetDecryptionKeys(const std::string& address, std::vector<DecryptionKey> keys) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      decryption_[address] = std::move(keys);
    }
    Log()->Publish("key", address);
  }
  void SetAnchors(std::vector<std::string> der) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      anchors_.der = std::move(der);
      ++anchors_.version;
    }
    Log()->Publish("trust", "");
  }
  void Publish(const std::string& kind, const std::string& subject) { Log()->Publish(kind, subject); }
  // The keyservice restarted: a new epoch, the event history is gone.
  void Restart() {
    std::lock_guard<std::mutex> lock(mu_);
    retired_.push_back(std::move(log_));  // a watcher may still wait on it
    log_ = std::make_unique<ChangeLog>();
  }
  uint64_t epoch() { return Log()->epoch(); }

  Result<std::optional<SigningIdentity>> GetSigningIdentity(const std::string& address) override {
    SG_RETURN_IF_ERROR(Enter(signing_calls));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = signing_.find(address);
    if (it == signing_.end()) return std::optional<SigningIdentity>();
    return std::optional<SigningIdentity>(it->second);
  }
  Result<std::optional<EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) override {
    SG_RETURN_IF_ERROR(Enter(encryption_calls));
    std::optional<EncryptionCertificate> out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = certs_.find(address);
      if (it != certs_.end()) out = it->second;
    }
    if (on_fetch) on_fetch(address);
    return out;
  }
  Result<std::vector<DecryptionKey>> GetDecryptionKeys(const std::string& address) override {
    SG_RETURN_IF_ERROR(Enter(decryption_calls));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = decryption_.find(address);
    return it == decryption_.end() ? std::vector<DecryptionKey>() : it->second;
  }
  Result<bool> Participates(const std::string& address) override {
    SG_RETURN_IF_ERROR(Enter(participation_calls));
    std::lock_guard<std::mutex> lock(mu_);
    return participates_.count(address) > 0 && participates_[address];
  }
  // Answers `harvest_outcome` (kStored the first time a fingerprint is seen
  // when it is kStored, kUnchanged after) and counts the calls.
  Result<HarvestResult> HarvestCertificate(const HarvestRequest& request) override {
    SG_RETURN_IF_ERROR(Enter(harvest_calls));
    std::lock_guard<std::mutex> lock(mu_);
    HarvestResult r;
    r.outcome = harvest_outcome;
    if (r.outcome == HarvestOutcome::kStored && !harvested_.insert(request.certificate_der).second) {
      r.outcome = HarvestOutcome::kUnchanged;
    }
    return r;
  }
  Result<TrustAnchors> GetTrustAnchors() override {
    SG_RETURN_IF_ERROR(Enter(anchor_calls));
    std::lock_guard<std::mutex> lock(mu_);
    return anchors_;
  }
  Result<Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                 std::chrono::milliseconds wait) override {
    ++wait_calls;
    last_wait_epoch = epoch;
    last_wait_version = after_version;
    if (auto l = latency.load(); l.count() > 0) std::this_thread::sleep_for(l);
    if (unavailable) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return MakeError(ErrorCode::kUnavailable, "fake keyservice: down");
    }
    return Log()->Wait(epoch, after_version, std::min(wait, std::chrono::milliseconds(50)));
  }

  std::atomic<bool> unavailable{false};
  std::atomic<std::chrono::microseconds> latency{std::chrono::microseconds(0)};
  std::function<void(const std::string&)> on_fetch;
  std::atomic<int> signing_calls{0}, encryption_calls{0}, decryption_calls{0},
      participation_calls{0}, anchor_calls{0}, harvest_calls{0};
  HarvestOutcome harvest_outcome = HarvestOutcome::kStored;
  std::atomic<int> wait_calls{0};
  std::atomic<uint64_t> last_wait_epoch{0}, last_wait_version{0};

 private:
  Status Enter(std::atomic<int>& counter) {
    ++counter;
    if (auto l = latency.load(); l.count() > 0) std::this_thread::sleep_for(l);
    if (unavailable) return MakeError(ErrorCode::kUnavailable, "fake keyservice: down");
    return OkStatus();
  }
  ChangeLog* Log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_.get();
  }

  std::mutex mu_;
  std::set<std::string> harvested_;
  std::unique_ptr<ChangeLog> log_;
  std::vector<std::unique_ptr<ChangeLog>> retired_;
  std::map<std::string, std::optional<EncryptionCertificate>> certs_;
  std::map<std::string, SigningIdentity> signing_;
  std::map<std::string, std::vector<DecryptionKey>> decryption_;
  std::map<std::string, bool> participates_;
  TrustAnchors anchors_;
};

}  // namespace sg::keyservice::testing
