// FakeKeyService: an in-memory KeyService for the policy tests.
//
// Participants, certificates, domain certificates and decryption keys are
// set by the test from the S/MIME test PKI. Harvested certificates are
// recorded and, like the real keyservice with a trusted certificate, used
// for encryption from then on. `unavailable` makes every call fail with
// kUnavailable (keyservice down); `fail_for` makes the per-address calls
// for one address fail with the given code, `fail_times` times (then they
// answer again; a negative count fails for ever). Like the keyservice, the
// per-address calls refuse an address the one normaliser refuses
// (kInvalidArgument). Threading: guarded by a mutex.
#pragma once

#include <map>
#include <optional>
#include <mutex>
#include <vector>

#include "keyservice/key_service.h"
#include "tests/workers/smime/smime_test_pki.h"

namespace sg::workers::testing {

std::string CertDer(const X509* cert);
std::string KeyDer(EVP_PKEY* key);

class FakeKeyService : public keyservice::KeyService {
 public:
  // The address participates and signs with |id| (chain: the test intermediate).
  void AddParticipant(const std::string& address, const smime::testing::TestIdentity& id);
  // A personal encryption certificate for |address|.
  void AddCertificate(const std::string& address, const smime::testing::TestIdentity& id);
  // A partner domain certificate ("partner.example").
  void AddDomainCertificate(const std::string& domain, const smime::testing::TestIdentity& id);
  // A decryption key of |address| (a user's or "@domain").
  void AddDecryptionKey(const std::string& address, const smime::testing::TestIdentity& id);
  void AddAnchor(const X509* cert);

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
  Result<keyservice::Changes> WaitForChanges(uint64_t, uint64_t,
                                             std::chrono::milliseconds) override;

  std::vector<keyservice::HarvestRequest> harvested() const;
  bool unavailable = false;
  struct Failure {
    ErrorCode code = ErrorCode::kUnavailable;
    int times = -1;
  };
  std::map<std::string, Failure> fail_for;  // by address as asked
  int calls_for(const std::string& address) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, keyservice::SigningIdentity> signing_;
  std::map<std::string, keyservice::EncryptionCertificate> certs_;     // by address or "@domain"
  std::map<std::string, std::vector<keyservice::DecryptionKey>> keys_; // by address or "@domain"
  std::vector<std::string> anchors_;
  std::vector<keyservice::HarvestRequest> harvested_;
  std::map<std::string, int> calls_;

  // The error for a per-address call, if any (mu_ held).
  std::optional<Error> AddressError(const std::string& address);
};

}  // namespace sg::workers::testing
