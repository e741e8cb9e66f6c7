// DKIM signing of outbound mail (issue 22, docs/dkim.md):
//   - the decision table (modified or not, sign: off|modified|all, From
//     domain, key);
//   - DkimSigner's signatures, RSA-2048 and Ed25519, verified by a second
//     implementation (dkimpy, tests/workers/dkim/dkim_verify.py) against the
//     TXT record the keyservice publishes; a changed body fails;
//   - the policy's last step: a signed+encrypted form gets a signature of
//     the From domain, an unchanged one does not (unless sign: all), no key
//     or a key error sends it without one, counted;
//   - a KEK rotation (`smimegatectl kek rotate`, KeyServiceImpl::RotateKek)
//     with DKIM keys in the keyservice: they are re-sealed and still sign.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <vector>

#include "common/ascii.h"
#include "keyservice/dkim_keys.h"
#include "keyservice/dkim_store.pb.h"
#include "keyservice/kek.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/temp_dir.h"
#include "tests/workers/policy/policy_test_util.h"
#include "workers/dkim/dkim_decision.h"
#include "workers/dkim/dkim_key_cache.h"
#include "workers/dkim/dkim_signer.h"

namespace sg::dkim {
namespace {

using workers::testing::Harness;
using workers::testing::Record;
using workers::testing::TextMessage;
namespace v1 = smimegate::v1;

TEST(DkimDecisionTest, Table) {
  struct Row {
    DkimSignMode mode;
    bool modified, from, key;
    DkimVerdict want;
  };
  const std::vector<Row> rows = {
      {DkimSignMode::kOff, true, true, true, DkimVerdict::kOff},
      {DkimSignMode::kModified, true, true, true, DkimVerdict::kSign},
      {DkimSignMode::kModified, false, true, true, DkimVerdict::kUnmodified},
      {DkimSignMode::kAll, false, true, true, DkimVerdict::kSign},
      {DkimSignMode::kAll, true, false, false, DkimVerdict::kNoFrom},
      {DkimSignMode::kModified, true, true, false, DkimVerdict::kNoKey},
      {DkimSignMode::kAll, false, true, false, DkimVerdict::kNoKey},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(DecideDkim(r.mode, r.modified, r.from, r.key), r.want)
        << static_cast<int>(r.mode) << r.modified << r.from << r.key;
  }
  EXPECT_FALSE(WantsDkim(DkimSignMode::kModified, false));
  EXPECT_TRUE(WantsDkim(DkimSignMode::kAll, false));
  EXPECT_EQ(DkimVerdictName(DkimVerdict::kNoKey), "no_key");
  EXPECT_EQ(*ParseDkimSignMode("all"), DkimSignMode::kAll);
  EXPECT_FALSE(ParseDkimSignMode("sometimes").ok());
}

struct TestKey {
  keyservice::DkimSigningKey key;
  std::string record;  // "<name> <value>" as dkim_verify.py --record takes it
};

TestKey MakeKey(const std::string& algorithm, const std::string& domain = "example.com") {
  auto m = keyservice::GenerateDkimKey(algorithm);
  EXPECT_TRUE(m.ok());
  TestKey t;
  t.key = {domain, "s1", algorithm, m->private_key_der};
  const std::string name = keyservice::DkimRecordName("s1", domain);
  t.record = name + " " +
             keyservice::DkimQuotedStrings(keyservice::DkimRecordValue(algorithm, m->public_key));
  return t;
}

// dkimpy's verdict on `message`: "pass" or "fail..." (first output line).
std::string Verify(const std::string& message, const std::string& record) {
  sg::testing::TempDir dir;
  const std::string path = dir.path() + "/msg.eml";
  std::ofstream(path, std::ios::binary) << message;
  const std::string cmd = std::string("/usr/bin/python3 ") + SG_DKIM_VERIFY_PY + " " + path +
                          " --record '" + record + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");  // NOLINT(cert-env33-c): the test runs dkimpy
  if (p == nullptr) return "popen failed";
  std::string out;
  std::array<char, 256> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  pclose(p);
  return out.substr(0, out.find('\n'));
}

std::string Tag(const std::string& header, const std::string& tag) {
  std::string flat;
  for (char c : header) {
    if (c != '\r' && c != '\n' && c != '\t' && c != ' ') flat += c;
  }
  auto at = flat.find(";" + tag + "=");
  if (at == std::string::npos) at = flat.find(":" + tag + "=");
  if (at == std::string::npos) return "";
  at += tag.size() + 2;
  return flat.substr(at, flat.find(';', at) - at);
}

class DkimSignerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DkimSignerTest, ASecondImplementationVerifiesAndAChangedBodyFails) {
  auto signer = DkimSigner::Create();
  ASSERT_TRUE(signer.ok()) << signer.error().ToString();
  const TestKey k = MakeKey(GetParam());
  const std::string message =
      TextMessage("alice@example.com", "Quarterly figures",
                  "Line one\r\nLine two  with spaces \r\n", "Cc: carol@example.org\r\n");
  auto header = (*signer)->Sign(k.key, message);
  ASSERT_TRUE(header.ok()) << header.error().ToString();
  ASSERT_TRUE(header->starts_with("DKIM-Signature: ")) << *header;
  ASSERT_TRUE(header->ends_with("\r\n"));
  EXPECT_EQ(header->find("\n\n"), std::string::npos);
  EXPECT_EQ(Tag(*header, "c"), "relaxed/relaxed");
  EXPECT_EQ(Tag(*header, "a"), GetParam() == "rsa" ? "rsa-sha256" : "ed25519-sha256");
  EXPECT_EQ(Tag(*header, "d"), "example.com");
  EXPECT_EQ(Tag(*header, "s"), "s1");
  // The headers present, From once more (oversigned).
  const std::string h = AsciiLower(Tag(*header, "h"));
  EXPECT_NE(h.find("from"), std::string::npos);
  EXPECT_NE(h.find("from", h.find("from") + 4), std::string::npos) << "From oversigned: " << h;
  for (const char* name :
       {"to", "cc", "subject", "date", "message-id", "mime-version", "content-type"}) {
    EXPECT_NE(h.find(name), std::string::npos) << name << " not in h=" << h;
  }

  const std::string signed_message = *header + message;
  EXPECT_EQ(Verify(signed_message, k.record), "pass");
  std::string tampered = signed_message;
  tampered.replace(tampered.find("Line two"), 8, "Line 2!!");
  EXPECT_NE(Verify(tampered, k.record), "pass");
  // Relaxed canonicalisation: whitespace changes in transit do not matter.
  std::string refolded = signed_message;
  refolded.replace(refolded.find("Subject: Quarterly"), 18, "Subject:   Quarterly");
  EXPECT_EQ(Verify(refolded, k.record), "pass");
  // Another key under the same name does not verify it.
  EXPECT_NE(Verify(signed_message, MakeKey(GetParam()).record), "pass");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DkimSignerTest, ::testing::Values("rsa", "ed25519"));

TEST(DkimSignerErrorsTest, AKeyThatDoesNotLoadNamesDomainAndSelector) {
  auto signer = DkimSigner::Create();
  ASSERT_TRUE(signer.ok());
  keyservice::DkimSigningKey bad{"example.com", "s7", "rsa", "not a key"};
  auto r = (*signer)->Sign(bad, TextMessage("alice@example.com", "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("DKIM key s7 of example.com"), std::string::npos);
}

// The key is prepared (PEM made) once per domain's key, not per message
// (dkim_key_cache.h): signatures made with the kept key still verify; a new
// active selector (rotation) or a new key under the same selector is
// prepared again and the old one is not used for that domain any more.
TEST(DkimKeyCacheTest, AKeyIsPreparedOncePerDomainKeyAndARotationReplacesIt) {
  auto signer = DkimSigner::Create();
  ASSERT_TRUE(signer.ok());
  const std::string message = TextMessage("alice@example.com", "Kept key", "Body\r\n");
  const TestKey a = MakeKey("rsa");
  for (int i = 0; i < 3; ++i) {
    auto header = (*signer)->Sign(a.key, message);
    ASSERT_TRUE(header.ok()) << header.error().ToString();
    EXPECT_EQ(Verify(*header + message, a.record), "pass") << "signature " << i;
  }
  EXPECT_EQ((*signer)->KeysPrepared(), 1u) << "three signatures, one key: prepared once";

  TestKey b = MakeKey("ed25519");  // rotation: another selector of the same domain
  b.key.selector = "s2";
  b.record = keyservice::DkimRecordName("s2", "example.com") + b.record.substr(b.record.find(' '));
  auto header = (*signer)->Sign(b.key, message);
  ASSERT_TRUE(header.ok()) << header.error().ToString();
  EXPECT_EQ(Verify(*header + message, b.record), "pass");
  ASSERT_TRUE((*signer)->Sign(b.key, message).ok());
  EXPECT_EQ((*signer)->KeysPrepared(), 2u);

  // A new key under an old selector (removed and generated again): not the old PEM.
  const TestKey a2 = MakeKey("rsa");
  header = (*signer)->Sign(a2.key, message);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(Verify(*header + message, a2.record), "pass");
  EXPECT_NE(Verify(*header + message, a.record), "pass");
  EXPECT_EQ((*signer)->KeysPrepared(), 3u);

  // Another domain has its own entry; example.com's stays.
  const TestKey org = MakeKey("ed25519", "example.org");
  ASSERT_TRUE((*signer)->Sign(org.key, TextMessage("bob@example.org", "x")).ok());
  ASSERT_TRUE((*signer)->Sign(a2.key, message).ok());
  EXPECT_EQ((*signer)->KeysPrepared(), 4u);
}

TEST(DkimKeyCacheTest, BoundedAndOffWithCapacityZero) {
  DkimKeyCache two(2);
  const TestKey com = MakeKey("ed25519", "example.com");
  const TestKey org = MakeKey("ed25519", "example.org");
  const TestKey net = MakeKey("ed25519", "example.net");
  for (const TestKey* k : {&com, &org, &com, &net}) EXPECT_TRUE(two.Get(k->key)->ok());
  EXPECT_EQ(two.conversions(), 3u) << "com kept while used";
  EXPECT_TRUE(two.Get(com.key)->ok());
  EXPECT_EQ(two.conversions(), 3u) << "com is one of the two most recently used";
  EXPECT_TRUE(two.Get(org.key)->ok());
  EXPECT_EQ(two.conversions(), 4u) << "org was the least recently used: dropped";

  DkimKeyCache none(0);
  EXPECT_TRUE(none.Get(com.key)->ok());
  EXPECT_TRUE(none.Get(com.key)->ok());
  EXPECT_EQ(none.conversions(), 2u);

  const keyservice::DkimSigningKey bad{"example.com", "s9", "rsa", "not a key"};
  EXPECT_FALSE(two.Get(bad)->ok());
  EXPECT_FALSE(two.Get(bad)->ok()) << "a key that does not load is not kept";
  EXPECT_TRUE(two.Get(com.key)->ok());
  EXPECT_EQ(two.conversions(), 6u) << "the bad key did not replace com's entry";
}

// The policy's last step over the real PolicyProcessor (policy_dkim.h).
class OutboundDkimTest : public ::testing::Test {
 protected:
  void Make(DkimSignMode mode) {
    workers::PolicyConfig config;
    config.dkim_sign = mode;
    h_ = std::make_unique<Harness>(config);
    h_->AddCast();
  }
  std::vector<v1::MessageRecord> Send(const std::string& from, const std::string& rcpt,
                                      const std::string& subject = "Hello") {
    auto out = h_->Run(Record(v1::DIRECTION_OUTBOUND, from, {rcpt}, TextMessage(from, subject)));
    EXPECT_TRUE(out.ok()) << out.error().ToString();
    return out.ok() ? *out : std::vector<v1::MessageRecord>{};
  }
  // The counter's value, 0 when it has no sample.
  int Count(const std::string& result) {
    const std::string text = h_->registry.Serialize();
    const std::string sample = "smimegate_dkim_messages_total{result=\"" + result + "\"} ";
    auto at = text.find(sample);
    return at == std::string::npos ? 0 : std::stoi(text.substr(at + sample.size()));
  }
  std::unique_ptr<Harness> h_;
};

TEST_F(OutboundDkimTest, ASignedEncryptedFormIsSignedAndVerifies) {
  Make(DkimSignMode::kModified);
  const TestKey k = MakeKey("ed25519");
  h_->keys.SetDkimKey("example.com", k.key);
  auto out = Send("alice@example.com", "carol@example.org");  // signed + encrypted
  ASSERT_EQ(out.size(), 1u);
  const std::string& m = out[0].message();
  ASSERT_TRUE(m.starts_with("DKIM-Signature: ")) << m.substr(0, 200);
  EXPECT_NE(m.find("application/pkcs7-mime"), std::string::npos);
  EXPECT_EQ(Verify(m, k.record), "pass");
  EXPECT_EQ(Count("signed"), 1);
}

TEST_F(OutboundDkimTest, UnchangedFormsOnlyWithSignAll) {
  Make(DkimSignMode::kModified);
  h_->keys.SetDkimKey("example.com", MakeKey("rsa").key);
  // zed does not participate, carol has a personal certificate only: unchanged.
  auto out = Send("zed@example.com", "carol@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].message().starts_with("DKIM-Signature:"));
  EXPECT_EQ(Count("unmodified"), 1);
  // [plain]: delivered as received but with the tag removed: modified.
  out = Send("alice@example.com", "carol@example.org", "[plain] Hello");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].message().starts_with("DKIM-Signature:"));

  Make(DkimSignMode::kAll);
  const TestKey k = MakeKey("rsa");
  h_->keys.SetDkimKey("example.com", k.key);
  out = Send("zed@example.com", "carol@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Verify(out[0].message(), k.record), "pass");
}

TEST_F(OutboundDkimTest, NoKeyOrABrokenKeyDeliversWithoutDkim) {
  Make(DkimSignMode::kModified);
  auto out = Send("alice@example.com", "carol@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].message().starts_with("DKIM-Signature:"));
  EXPECT_EQ(Count("no_key"), 1);

  h_->keys.SetDkimError(
      "example.com", MakeError(ErrorCode::kCorruption, "DKIM key s1 of example.com does not open"));
  out = Send("alice@example.com", "carol@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].message().starts_with("DKIM-Signature:"));
  EXPECT_NE(out[0].message().find("application/pkcs7-mime"), std::string::npos);
  EXPECT_EQ(Count("key_error"), 1);

  h_->keys.SetDkimKey("example.com", {"example.com", "s1", "rsa", "garbage"});
  out = Send("alice@example.com", "carol@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].message().starts_with("DKIM-Signature:"));
  EXPECT_EQ(Count("key_error"), 2);
}

TEST_F(OutboundDkimTest, OffNeverAsks) {
  Make(DkimSignMode::kOff);
  h_->keys.SetDkimKey("example.com", MakeKey("rsa").key);
  auto out = Send("alice@example.com", "carol@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].message().starts_with("DKIM-Signature:"));
  EXPECT_EQ(h_->keys.dkim_calls.load(), 0);
}

// KEK rotation with DKIM keys present (docs/operations.md, "Rotate the
// KEK"): after the rotation the new KEK alone opens every DKIM key, the keys
// are the same (their published records stay valid) and sign; the old KEK
// opens none of the stored records any more.
class DkimKekRotationTest : public ::testing::Test {
 protected:
  using Keys = std::unique_ptr<keyservice::KeyServiceImpl>;
  // The keyservice over the store with KEK file `current` and, when not
  // empty, `previous` (names in the test's directory).
  Keys Open(const std::string& current, const std::string& previous = "") {
    keyservice::KeyServiceConfig c = keyservice::testing::TestConfig(dir_.path());
    c.kek_create = false;
    c.kek_file = Path(current);
    c.kek_previous_file = previous.empty() ? "" : Path(previous);
    c.kek_previous_env.clear();
    auto ks =
        keyservice::KeyServiceImpl::Open(c, {"example.com", "example.org"}, registry_, clock_);
    EXPECT_TRUE(ks.ok()) << ks.error().ToString();
    return ks.ok() ? std::move(*ks) : nullptr;
  }
  std::string Path(const std::string& name) { return (dir_.path() / name).string(); }
  keyservice::Kek KekFile(const std::string& name) {
    std::ifstream in(Path(name), std::ios::binary);
    const std::string material((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    return *keyservice::Kek::FromMaterial(material, name);
  }
  // The stored record of a key: its sealed private key.
  static std::string Sealed(keyservice::KeyServiceImpl& ks, const std::string& record) {
    auto raw = ks.store().GetMeta(record);
    keyservice::store::StoredDkimKey k;
    EXPECT_TRUE(raw.ok() && raw->has_value() && k.ParseFromString(**raw)) << record;
    return k.sealed_private_key();
  }

  keyservice::testing::TempDir dir_;
  metrics::Registry registry_;
  SystemClock clock_;
};

TEST_F(DkimKekRotationTest, DkimKeysAreResealedAndStillSign) {
  struct Key {
    std::string domain, selector, algorithm, record, der;
  };
  std::vector<Key> keys = {{"example.com", "s1", "rsa", "", ""},
                           {"example.org", "s2", "ed25519", "", ""}};
  ASSERT_TRUE(keyservice::Kek::CreateFile(Path("kek_a")).ok());
  {
    Keys ks = Open("kek_a");
    ASSERT_TRUE(ks);
    for (auto& k : keys) {
      auto info = ks->DkimKeygen(k.domain, k.selector, k.algorithm);
      ASSERT_TRUE(info.ok()) << info.error().ToString();
      ASSERT_TRUE(ks->DkimActivate(k.domain, k.selector).ok());
      k.record = info->record_name + " " + keyservice::DkimQuotedStrings(info->record_value);
      auto key = ks->GetDkimKey(k.domain);
      ASSERT_TRUE(key.ok() && key->has_value());
      k.der = (*key)->private_key_der;
    }
  }
  ASSERT_TRUE(keyservice::Kek::CreateFile(Path("kek_b")).ok());
  {
    Keys ks = Open("kek_b", "kek_a");  // step 2: both KEKs configured
    ASSERT_TRUE(ks);
    auto r = ks->RotateKek();  // step 3: smimegatectl kek rotate
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_GE(r->resealed, keys.size());
  }
  Keys ks = Open("kek_b");  // step 4: the old KEK is gone from the configuration
  ASSERT_TRUE(ks);
  const keyservice::Kek old_kek = KekFile("kek_a");
  const keyservice::Kek new_kek = KekFile("kek_b");
  auto signer = DkimSigner::Create();
  ASSERT_TRUE(signer.ok());
  for (const auto& k : keys) {
    auto key = ks->GetDkimKey(k.domain);
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    ASSERT_TRUE(key->has_value()) << k.domain;
    EXPECT_EQ((*key)->selector, k.selector);
    EXPECT_EQ((*key)->private_key_der, k.der) << "the key its DNS record publishes";
    const std::string message = TextMessage("alice@" + k.domain, "After the KEK rotation");
    auto header = (*signer)->Sign(**key, message);
    ASSERT_TRUE(header.ok()) << header.error().ToString();
    EXPECT_EQ(Verify(*header + message, k.record), "pass") << k.domain;
    const std::string record = "dkim/" + k.domain + "/" + k.selector;
    const std::string sealed = Sealed(*ks, record);
    EXPECT_FALSE(old_kek.Open(sealed, record).ok()) << record << " still opens with the old KEK";
    EXPECT_TRUE(new_kek.Open(sealed, record).ok()) << record;
  }
}

}  // namespace
}  // namespace sg::dkim
