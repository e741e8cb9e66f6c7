// FakeKeyService: the one in-memory KeyService (keyservice/key_service.h)
// of the tests, for the worker cache tests and the policy tests alike.
//
// Contents are set by the test, either as keyservice records (Set*) or from
// certificates and keys (Add*, DER-encoded here). Lookups behave like the
// keyservice's: an address the one normaliser (common/mail/address.h)
// refuses is kInvalidArgument; a personal encryption certificate comes with
// the partner domain certificate ("@domain") alongside, else the domain
// certificate alone; decryption keys are the user's and the domain's.
//
// Every Set*/Add* publishes an event on a real ChangeLog, like the
// keyservice does; Restart() replaces the change log (new epoch: watchers get
// `reset`). A harvested certificate is recorded (harvested()) and, when the
// answer is kStored, used for encryption from then on; the answer is
// `harvest_outcome`, except that a certificate already stored answers
// kUnchanged.
//
// Test knobs: `unavailable` makes every call fail with kUnavailable;
// `fail_for` makes the per-address calls (encryption certificate, decryption
// keys, participation) for one address fail with the given code, `times`
// times (then they answer again; a negative count fails for ever), and
// calls_for() counts those calls per address (the normaliser's refusal also
// applies to all three, as in the keyservice);
// `latency` delays every lookup (a remote keyservice); `on_fetch` runs inside
// GetEncryptionCertificate after the answer was read (to race an
// invalidation against a fetch). Calls are counted per method.
//
// Threading: thread-safe.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "keyservice/change_log.h"
#include "keyservice/key_service.h"

namespace sg::testing {

class FakeKeyService : public keyservice::KeyService {
 public:
  FakeKeyService();

  // Keyservice records as they are.
  void SetCertificate(const std::string& address,
                      std::optional<keyservice::EncryptionCertificate> cert);
  void SetSigning(const std::string& address, keyservice::SigningIdentity id);  // participates
  void SetDecryptionKeys(const std::string& address, std::vector<keyservice::DecryptionKey> keys);
  void SetAnchors(std::vector<std::string> der);

  // From certificates and keys. |address| participates and signs with
  // key/cert; |chain| (may be null) is sent along.
  void AddParticipant(const std::string& address, EVP_PKEY* key, const X509* cert,
                      const X509* chain);
  void AddCertificate(const std::string& address, const X509* cert);
  // A partner domain certificate ("partner.example").
  void AddDomainCertificate(const std::string& domain, const X509* cert);
  // One more decryption key of |address| (a user's or "@domain").
  void AddDecryptionKey(const std::string& address, EVP_PKEY* key, const X509* cert);
  void AddAnchor(const X509* cert);

  void Publish(const std::string& kind, const std::string& subject);
  // The keyservice restarted: a new epoch, the event history is gone.
  void Restart();
  uint64_t epoch();
  std::vector<keyservice::HarvestRequest> harvested() const;

  Result<std::optional<keyservice::SigningIdentity>> GetSigningIdentity(
      const std::string& address) override;
  Result<std::optional<keyservice::EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) override;
  Result<std::vector<keyservice::DecryptionKey>> GetDecryptionKeys(
      const std::string& address) override;
  Result<bool> Participates(const std::string& address) override;
  Result<keyservice::HarvestResult> HarvestCertificate(
      const keyservice::HarvestRequest& request) override;
  Result<keyservice::TrustAnchors> GetTrustAnchors() override;
  Result<keyservice::Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                             std::chrono::milliseconds wait) override;
  // The hosted domains (publishes a "domain" event, like the keyservice).
  void SetHostedDomains(std::vector<keyservice::HostedDomain> domains);
  Result<std::vector<keyservice::HostedDomain>> TenantDomains() override;
  // Tenant policy overrides in TenantRouting (publishes a "tenant" event).
  void SetTenantPolicies(std::vector<keyservice::TenantPolicy> policies);
  // The registry's global rules in TenantRouting (publishes a "policy" event).
  void SetGlobalRules(std::vector<keyservice::TenantRule> rules);
  Result<keyservice::TenantRoutingTable> TenantRouting() override;
  // DKIM: the active key of a domain (publishes a "dkim" event for
  // "@domain"), or an error GetDkimKey returns for it.
  void SetDkimKey(const std::string& domain, keyservice::DkimSigningKey key);
  void SetDkimError(const std::string& domain, Error error);
  Result<std::optional<keyservice::DkimSigningKey>> GetDkimKey(const std::string& domain) override;
  std::atomic<int> dkim_calls{0};

  struct Failure {
    ErrorCode code = ErrorCode::kUnavailable;
    int times = -1;
  };
  std::map<std::string, Failure> fail_for;  // by address as asked; set before the calls
  // GetSigningIdentity only (the CA behind it: issue 18), by address.
  std::map<std::string, Failure> signing_fail_for;
  int calls_for(const std::string& address) const;

  std::atomic<bool> unavailable{false};
  std::atomic<std::chrono::microseconds> latency{std::chrono::microseconds(0)};
  std::function<void(const std::string&)> on_fetch;
  std::atomic<int> signing_calls{0}, encryption_calls{0}, decryption_calls{0},
      participation_calls{0}, anchor_calls{0}, harvest_calls{0}, domain_calls{0};
  std::atomic<keyservice::HarvestOutcome> harvest_outcome{keyservice::HarvestOutcome::kStored};
  std::atomic<int> wait_calls{0};
  std::atomic<uint64_t> last_wait_epoch{0}, last_wait_version{0};

 private:
  Status Enter(std::atomic<int>& counter);
  // The error of a per-address call, if any: fail_for, then the normaliser.
  Status AddressCheck(const std::string& address);
  keyservice::ChangeLog* Log();

  mutable std::mutex mu_;
  std::unique_ptr<keyservice::ChangeLog> log_;
  std::vector<std::unique_ptr<keyservice::ChangeLog>> retired_;  // a watcher may still wait on one
  // By address or "@domain"; nullopt: a known "no certificate".
  std::map<std::string, std::optional<keyservice::EncryptionCertificate>> certs_;
  std::map<std::string, keyservice::SigningIdentity> signing_;
  std::map<std::string, std::vector<keyservice::DecryptionKey>> decryption_;
  keyservice::TrustAnchors anchors_;
  std::vector<keyservice::HostedDomain> domains_;
  std::vector<keyservice::TenantPolicy> policies_;
  std::vector<keyservice::TenantRule> global_rules_;
  std::map<std::string, Result<keyservice::DkimSigningKey>> dkim_;  // by domain
  std::set<std::string> harvested_der_;
  std::vector<keyservice::HarvestRequest> harvested_;
  std::map<std::string, int> calls_;
};

}  // namespace sg::testing
