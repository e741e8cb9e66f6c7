#include "tests/workers/policy/policy_test_util.h"

#include <gmime/gmime.h>

#include <mutex>

#include "workers/policy/policy_subject.h"
#include "workers/smime/smime_detect.h"

namespace sg::workers::testing {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;

Harness::Harness(PolicyConfig config, smime::SmimeConfig sc) {
  engine = std::move(smime::SmimeEngine::Create().value());
  sc.trust_system_roots = false;
  guard = keyservice::DecryptGuardStore::Open(keyservice::DecryptGuardOptions{}).value();
  processor = std::make_unique<PolicyProcessor>(std::move(config), sc, keys, *guard, *engine,
                                                registry, clock);
  keys.AddAnchor(GetTestPki().root.cert.get());
}

void AddParticipant(FakeKeyService& keys, const std::string& address,
                    const smime::testing::TestIdentity& id) {
  keys.AddParticipant(address, id.key.get(), id.cert.get(),
                      GetTestPki().intermediate.cert.get());
}

void Harness::AddCast() {
  const auto& pki = GetTestPki();
  AddParticipant(keys, "alice@example.com", pki.alice);
  AddParticipant(keys, "bob@example.com", pki.bob);
  keys.AddDecryptionKey("alice@example.com", pki.alice.key.get(), pki.alice.cert.get());
  keys.AddDecryptionKey("bob@example.com", pki.bob.key.get(), pki.bob.cert.get());
  keys.AddCertificate("carol@example.org", pki.carol.cert.get());
  // A partner user with a certificate of her own in a domain with a domain
  // certificate (bob's key stands for partner.example).
  keys.AddCertificate("paula@partner.example", pki.carol.cert.get());
  keys.AddDomainCertificate("partner.example", pki.bob.cert.get());
}

Result<std::vector<v1::MessageRecord>> Harness::Run(const v1::MessageRecord& r) {
  return processor->Process(r);
}

v1::MessageRecord Record(v1::Direction direction, const std::string& mail_from,
                         const std::vector<std::string>& rcpts, std::string message) {
  v1::MessageRecord r;
  auto* env = r.mutable_envelope();
  env->set_message_id("msg-1");
  env->set_direction(direction);
  env->set_mail_from(mail_from);
  for (const auto& a : rcpts) env->add_recipients()->set_address(a);
  r.set_message(std::move(message));
  return r;
}

std::string TextMessage(const std::string& from, const std::string& subject,
                        const std::string& body, const std::string& extra_headers) {
  return "From: Sender <" + from + ">\r\n"
         "To: someone@example.org\r\n"
         "Subject: " + subject + "\r\n"
         "Date: " + smime::testing::DateNow() + "\r\n"
         "Message-ID: <t1@example.com>\r\n" + extra_headers +
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=us-ascii\r\n"
         "\r\n" + body;
}

std::string CalendarMessage(const std::string& from, const std::string& subject) {
  return "From: " + from + "\r\nTo: someone@example.org\r\nSubject: " + subject +
         "\r\nDate: " + smime::testing::DateNow() + "\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
         "--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
         "--inner\r\nContent-Type: text/plain\r\n\r\nSECRET-BODY meeting\r\n"
         "--inner\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
         "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
         "--inner--\r\n"
         "--outer--\r\n";
}

std::string TnefMessage(const std::string& from, const std::string& subject) {
  return "From: " + from + "\r\nTo: someone@example.org\r\nSubject: " + subject +
         "\r\nDate: " + smime::testing::DateNow() + "\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain\r\n\r\nSECRET-BODY see attachment\r\n"
         "--b1\r\nContent-Type: application/octet-stream; name=\"winmail.dat\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n"
         "eJ8+IgAAAA==\r\n"
         "--b1--\r\n";
}

std::string DecodeSubject(const std::string& raw) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  char* d = g_mime_utils_header_decode_text(nullptr, raw.c_str());
  std::string out = d ? d : raw;
  g_free(d);
  return out;
}

Opened Open(const smime::SmimeEngine& engine, const std::string& message,
            const smime::testing::TestIdentity* key) {
  Opened o;
  o.message = message;
  auto kind = smime::DetectSmime(message);
  if (kind == smime::SmimeKind::kEnveloped || kind == smime::SmimeKind::kAuthEnveloped) {
    o.encrypted = true;
    if (key == nullptr) return o;
    smime::KeyPair pair = key->Pair();
    auto dec = engine.Decrypt(message, std::span<const smime::KeyPair>(&pair, 1));
    if (!dec.ok()) return o;
    o.decrypt_ok = true;
    o.message = dec->message;
    kind = smime::DetectSmime(o.message);
  }
  if (kind == smime::SmimeKind::kSignedDetached || kind == smime::SmimeKind::kSignedOpaque) {
    o.signed_msg = true;
    auto v = engine.Verify(o.message, GetTestPki().Trust(), NowMs() / 1000);
    if (v.ok()) o.verify = v->status;
  }
  o.subject = DecodeSubject(GetSubject(o.message).value_or(""));
  return o;
}

std::vector<const v1::MessageRecord*> FormsFor(const std::vector<v1::MessageRecord>& outputs,
                                               const std::string& rcpt) {
  std::vector<const v1::MessageRecord*> out;
  for (const auto& r : outputs) {
    if (r.form_id() == "dsn" || !r.hold_reason().empty()) continue;  // not deliveries
    for (const auto& x : r.envelope().recipients()) {
      if (x.address() == rcpt) out.push_back(&r);
    }
  }
  return out;
}

std::vector<const v1::MessageRecord*> Held(const std::vector<v1::MessageRecord>& outputs) {
  std::vector<const v1::MessageRecord*> out;
  for (const auto& r : outputs) {
    if (!r.hold_reason().empty()) out.push_back(&r);
  }
  return out;
}

const v1::MessageRecord* Dsn(const std::vector<v1::MessageRecord>& outputs) {
  for (const auto& r : outputs) {
    if (r.form_id() == "dsn") return &r;
  }
  return nullptr;
}

}  // namespace sg::workers::testing
