// Shared pieces of the policy tests: a processor over a FakeKeyService with
// the S/MIME test PKI, message builders, and what a recipient's mail client
// would do with a delivered form (decrypt with its key, verify the signature).
//
// The cast: alice@example.com (participant, RSA), bob@example.com
// (participant, EC P-256), zed@example.com (not participating);
// carol@example.org has a personal certificate; partner.example has a domain
// certificate (bob's key stands in for the partner's domain key);
// erin@nocert.example has none.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "keyservice/decrypt_guard_store.h"
#include "proto/envelope.pb.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_key_service.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/policy/policy_processor.h"
#include "workers/policy/policy_subject.h"

namespace sg::workers::testing {

using sg::testing::FakeKeyService;

// The test PKI is generated relative to the real clock, so the tests use it too.
inline int64_t NowMs() { return SystemClock::Instance().NowMs(); }

// |address| participates and signs with |id| (chain: the test intermediate).
void AddParticipant(FakeKeyService& keys, const std::string& address,
                    const smime::testing::TestIdentity& id);

struct Harness {
  explicit Harness(PolicyConfig config = {}, smime::SmimeConfig smime_config = {});
  // Sets up the cast above in `keys`.
  void AddCast();
  Result<std::vector<smimegate::v1::MessageRecord>> Run(const smimegate::v1::MessageRecord& r);

  FakeKeyService keys;
  // The real guard, in memory (keyservice/decrypt_guard_store.h).
  std::unique_ptr<keyservice::DecryptGuardStore> guard;
  sg::testing::FakeClock clock{NowMs()};  // the processor's clock
  metrics::Registry registry;
  std::unique_ptr<smime::SmimeEngine> engine;
  std::unique_ptr<PolicyProcessor> processor;
};

smimegate::v1::MessageRecord Record(smimegate::v1::Direction direction, const std::string& mail_from,
                                    const std::vector<std::string>& rcpts, std::string message);

// A text/plain message. |extra_headers| end with CRLF each.
std::string TextMessage(const std::string& from, const std::string& subject,
                        const std::string& body = "SECRET-BODY line\r\n",
                        const std::string& extra_headers = "");
// multipart/mixed with a text part and a text/calendar part.
std::string CalendarMessage(const std::string& from, const std::string& subject);
// multipart/mixed with a winmail.dat (application/ms-tnef) attachment.
std::string TnefMessage(const std::string& from, const std::string& subject);

// What the recipient sees after their client has done its work.
struct Opened {
  bool encrypted = false;
  bool decrypt_ok = false;
  bool signed_msg = false;
  smime::VerifyStatus verify = smime::VerifyStatus::kNotSigned;
  std::string message;  // decrypted (and, if signed, the signed content with outer headers)
  std::string subject;  // decoded Subject
};
Opened Open(const smime::SmimeEngine& engine, const std::string& message,
            const smime::testing::TestIdentity* key);

// Output records delivered to |rcpt| (there must be exactly one for a delivered recipient);
// neither DSNs nor held records.
std::vector<const smimegate::v1::MessageRecord*> FormsFor(
    const std::vector<smimegate::v1::MessageRecord>& outputs, const std::string& rcpt);
// Records the workers keep as dead letters (hold_reason set).
std::vector<const smimegate::v1::MessageRecord*> Held(
    const std::vector<smimegate::v1::MessageRecord>& outputs);
// The DSN in the outputs (form_id "dsn"), or nullptr.
const smimegate::v1::MessageRecord* Dsn(const std::vector<smimegate::v1::MessageRecord>& outputs);
std::string DecodeSubject(const std::string& raw);

}  // namespace sg::workers::testing
