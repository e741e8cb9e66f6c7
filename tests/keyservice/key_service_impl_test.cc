// KeyServiceImpl: issuance, single flight, persistence, rollover, harvest,
// domain certificates, key import, KEK, and the issued certificates checked
// by `openssl verify`.
#include "keyservice/key_service_impl.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "keyservice/keyservice_x509.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;
using testing::LeafOptions;
using testing::MakeCa;
using testing::MakeLeaf;
using testing::TempDir;
using testing::TestConfig;
using testing::WriteFile;

class KeyServiceImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = TestConfig(dir_.path());
    Open();
  }
  void Open() {
    ks_.reset();
    auto r = KeyServiceImpl::Open(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
  }
  void AddUser(const std::string& address, bool participating = true) {
    auto r = ks_->PutUsers({User{address, participating, ""}});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  size_t KeyCount(const std::string& owner) {
    auto certs = ks_->ListCertificates(owner, "own");
    EXPECT_TRUE(certs.ok());
    return certs.ok() ? certs->size() : 0;
  }

  TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(KeyServiceImplTest, IssuesOnFirstUseForParticipatingUsersOnly) {
  AddUser("alice@example.com");
  AddUser("bob@example.com", false);
  EXPECT_EQ(KeyCount("alice@example.com"), 0u);

  auto id = ks_->GetSigningIdentity("Alice@Example.COM");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  ASSERT_TRUE(id->has_value());
  EXPECT_EQ((*id)->address, "alice@example.com");
  auto cert = ParseCertificateDer((*id)->certificate_der);
  ASSERT_TRUE(cert.ok());
  auto key = ParsePrivateKeyDer((*id)->private_key_der);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(CertificateMatchesKey(cert->get(), key->get()));
  EXPECT_EQ(EmailAddresses(cert->get())[0], "alice@example.com");
  EXPECT_TRUE(IsRsa(key->get()));
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), 2048);
  ASSERT_EQ((*id)->chain_der.size(), 1u);
  EXPECT_EQ((*id)->chain_der[0], ks_->CaExport()->issuing_der);
  EXPECT_EQ(KeyCount("alice@example.com"), 1u);

  // The second call returns the same key.
  auto again = ks_->GetSigningIdentity("alice@example.com");
  EXPECT_EQ((*again)->key_id, (*id)->key_id);

  auto bob = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(bob->has_value());
  auto stranger = ks_->GetSigningIdentity("carol@example.com");
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(stranger->has_value());
  EXPECT_EQ(ks_->GetSigningIdentity("not an address").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(*ks_->Participates("alice@example.com"));
  EXPECT_FALSE(*ks_->Participates("bob@example.com"));
}

TEST_F(KeyServiceImplTest, ConcurrentFirstUseIssuesOneKey) {
  AddUser("rush@example.com");
  constexpr int kThreads = 16;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto id = ks_->GetSigningIdentity("rush@example.com");
      if (id.ok() && id->has_value()) ids[i] = (*id)->key_id;
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_FALSE(ids[0].empty());
  EXPECT_EQ(KeyCount("rush@example.com"), 1u);
}

TEST_F(KeyServiceImplTest, KeysCertificatesAndCaSurviveRestart) {
  AddUser("alice@example.com");
  auto before = ks_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(before.ok() && before->has_value());
  std::string root = ks_->CaExport()->root_der;
  Open();
  auto after = ks_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->key_id, (*before)->key_id);
  EXPECT_EQ((*after)->private_key_der, (*before)->private_key_der);
  EXPECT_EQ(ks_->CaExport()->root_der, root);
  EXPECT_EQ(ks_->ListDomains()->size(), 1u);
}

TEST_F(KeyServiceImplTest, PrivateKeysAreNotStoredInPlaintext) {
  AddUser("alice@example.com");
  auto id = ks_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(id.ok() && id->has_value());
  // The last bytes of PKCS#8 RSA are the CRT coefficient: private, unlike the modulus.
  std::string needle = (*id)->private_key_der.substr((*id)->private_key_der.size() - 40, 32);
  ks_.reset();  // flush
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path() / "keys")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(data.find(needle), std::string::npos) << entry.path();
  }
}

TEST_F(KeyServiceImplTest, WrongKekIsRefused) {
  AddUser("alice@example.com");
  ASSERT_TRUE(ks_->GetSigningIdentity("alice@example.com").ok());
  ks_.reset();
  std::filesystem::remove(config_.kek_file);
  auto wrong = config_;
  wrong.kek_create = false;
  WriteFile(wrong.kek_file, std::string(64, 'a'));  // valid format, other key
  std::filesystem::permissions(wrong.kek_file, std::filesystem::perms::owner_read);
  auto r = KeyServiceImpl::Open(wrong, {}, registry_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("does not match the key store"), std::string::npos)
      << r.error().message;
}

TEST_F(KeyServiceImplTest, MissingKekIsRefused) {
  ks_.reset();
  auto missing = config_;
  missing.kek_create = false;
  missing.kek_file = (dir_.path() / "nope").string();
  auto r = KeyServiceImpl::Open(missing, {}, registry_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("keyservice.kek_file"), std::string::npos);
  EXPECT_NE(r.error().message.find("not found"), std::string::npos);

  auto env = config_;
  env.kek_file.clear();
  env.kek_env = "SG_TEST_KEK_UNSET_VARIABLE";
  r = KeyServiceImpl::Open(env, {}, registry_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("SG_TEST_KEK_UNSET_VARIABLE"), std::string::npos);
}

TEST_F(KeyServiceImplTest, RolloverBeforeExpiryKeepsOldKeyForDecryption) {
  AddUser("alice@example.com");
  auto first = ks_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(first.ok() && first->has_value());

  // 300 days in: nothing to do.
  clock_.Advance(24h * 300);
  EXPECT_EQ(*ks_->RolloverDue(), 0);
  // 8 days before expiry: still nothing (default lead time 7 days).
  clock_.Advance(24h * 57);
  EXPECT_EQ(*ks_->RolloverDue(), 0);
  // 6 days before expiry: roll over.
  clock_.Advance(24h * 2);
  EXPECT_EQ(*ks_->RolloverDue(), 1);
  EXPECT_EQ(*ks_->RolloverDue(), 0);  // once

  auto second = ks_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_NE((*second)->key_id, (*first)->key_id);  // the new key signs at once

  auto keys = ks_->GetDecryptionKeys("alice@example.com");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key_id, (*second)->key_id);  // newest first
  EXPECT_EQ((*keys)[1].key_id, (*first)->key_id);
  EXPECT_EQ((*keys)[1].private_key_der, (*first)->private_key_der);

  // Long after the old certificate expired it still decrypts.
  clock_.Advance(24h * 400);
  keys = ks_->GetDecryptionKeys("alice@example.com");
  EXPECT_EQ(keys->size(), 2u);
  bool old_present = false;
  for (const auto& k : *keys) old_present |= k.key_id == (*first)->key_id;
  EXPECT_TRUE(old_present);
}

TEST_F(KeyServiceImplTest, AdminRolloverSignsAtOnceEvenAtTheSameInstant) {
  AddUser("alice@example.com");
  auto first = ks_->GetSigningIdentity("alice@example.com");
  for (int i = 0; i < 3; ++i) {  // the fake clock does not move
    auto renewed = ks_->Rollover("alice@example.com");
    ASSERT_TRUE(renewed.ok());
    EXPECT_EQ((*ks_->GetSigningIdentity("alice@example.com"))->key_id, renewed->key_id);
  }
  EXPECT_EQ(ks_->GetDecryptionKeys("alice@example.com")->size(), 4u);
  EXPECT_EQ(ks_->Rollover("nobody@example.com").error().code, ErrorCode::kNotFound);
}

TEST_F(KeyServiceImplTest, ExpiredSigningKeyIsReplacedOnUse) {
  AddUser("alice@example.com");
  auto first = ks_->GetSigningIdentity("alice@example.com");
  clock_.Advance(24h * 400);
  auto second = ks_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_NE((*second)->key_id, (*first)->key_id);
}

class HarvestTest : public KeyServiceImplTest {
 protected:
  void SetUp() override {
    KeyServiceImplTest::SetUp();
    now_ = clock_.Now();
    partner_ca_ = MakeCa("Partner CA", now_);
  }
  LeafOptions Leaf(const std::string& email) {
    LeafOptions o;
    o.email = email;
    o.not_before = now_ - 24h;
    o.not_after = now_ + 24h * 365;
    return o;
  }
  HarvestResult Harvest(const std::string& address, const std::string& der,
                        std::vector<std::string> capabilities = {}) {
    auto r = ks_->HarvestCertificate(
        HarvestRequest{address, der, {partner_ca_.der}, "", std::move(capabilities)});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : HarvestResult{};
  }
  std::chrono::system_clock::time_point now_;
  testing::TestCa partner_ca_;
};

TEST_F(HarvestTest, UntrustedCaIsPendingUntilApproved) {
  std::string cert = MakeLeaf(partner_ca_, Leaf("bob@partner.example"));
  auto r = Harvest("bob@partner.example", cert, {"id-aes256-GCM", "AES-256-CBC"});
  EXPECT_EQ(r.outcome, HarvestOutcome::kPending) << r.reason;
  EXPECT_FALSE(ks_->GetEncryptionCertificate("bob@partner.example")->has_value());
  auto pending = ks_->ListCertificates("", "pending");
  ASSERT_EQ(pending->size(), 1u);

  auto approved = ks_->TrustApprovePending(r.fingerprint);
  ASSERT_TRUE(approved.ok()) << approved.error().ToString();
  EXPECT_EQ(approved->promoted_pending, 1u);
  EXPECT_EQ(approved->fingerprints[0], Fingerprint(partner_ca_.der));
  auto enc = ks_->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(enc.ok() && enc->has_value());
  EXPECT_EQ((*enc)->certificate_der, cert);
  EXPECT_FALSE((*enc)->domain_certificate);
  EXPECT_EQ((*enc)->capabilities, (std::vector<std::string>{"id-aes256-GCM", "AES-256-CBC"}));
  EXPECT_TRUE(ks_->ListCertificates("", "pending")->empty());

  // Harvesting it again changes nothing; removing the anchor stops its use.
  EXPECT_EQ(Harvest("bob@partner.example", cert).outcome, HarvestOutcome::kUnchanged);
  ASSERT_TRUE(ks_->TrustRemove(Fingerprint(partner_ca_.der)).ok());
  EXPECT_FALSE(ks_->GetEncryptionCertificate("bob@partner.example")->has_value());
}

TEST_F(HarvestTest, TrustedCertificateIsStoredAndNewestWins) {
  ASSERT_TRUE(ks_->TrustAdd({partner_ca_.der}).ok());
  std::string older = MakeLeaf(partner_ca_, Leaf("bob@partner.example"));
  auto newer_opts = Leaf("bob@partner.example");
  newer_opts.not_before = now_ - 1h;
  std::string newer = MakeLeaf(partner_ca_, newer_opts);
  EXPECT_EQ(Harvest("bob@partner.example", newer).outcome, HarvestOutcome::kStored);
  EXPECT_EQ(Harvest("bob@partner.example", older).outcome, HarvestOutcome::kStored);
  auto enc = ks_->GetEncryptionCertificate("BOB@partner.example");
  ASSERT_TRUE(enc.ok() && enc->has_value());
  EXPECT_EQ((*enc)->certificate_der, newer);
  // Once it expires, nothing is used.
  clock_.Advance(24h * 366);
  EXPECT_FALSE(ks_->GetEncryptionCertificate("bob@partner.example")->has_value());
}

TEST_F(HarvestTest, ExpiredWrongPurposeWrongAddressAreRejected) {
  ASSERT_TRUE(ks_->TrustAdd({partner_ca_.der}).ok());
  auto expired = Leaf("bob@partner.example");
  expired.not_before = now_ - 24h * 400;
  expired.not_after = now_ - 24h;
  auto r = Harvest("bob@partner.example", MakeLeaf(partner_ca_, expired));
  EXPECT_EQ(r.outcome, HarvestOutcome::kRejected);
  EXPECT_NE(r.reason.find("expired"), std::string::npos) << r.reason;

  auto tls = Leaf("bob@partner.example");
  tls.eku = "serverAuth";
  r = Harvest("bob@partner.example", MakeLeaf(partner_ca_, tls));
  EXPECT_EQ(r.outcome, HarvestOutcome::kRejected);
  EXPECT_NE(r.reason.find("email protection"), std::string::npos) << r.reason;

  auto sign_only = Leaf("bob@partner.example");
  sign_only.key_usage = "critical,digitalSignature";
  r = Harvest("bob@partner.example", MakeLeaf(partner_ca_, sign_only));
  EXPECT_EQ(r.outcome, HarvestOutcome::kRejected);
  EXPECT_NE(r.reason.find("keyEncipherment"), std::string::npos) << r.reason;

  r = Harvest("eve@partner.example", MakeLeaf(partner_ca_, Leaf("bob@partner.example")));
  EXPECT_EQ(r.outcome, HarvestOutcome::kRejected);
  EXPECT_NE(r.reason.find("does not name eve@partner.example"), std::string::npos) << r.reason;

  // A hosted address is never harvested (no one plants a certificate for our users).
  r = Harvest("alice@example.com", MakeLeaf(partner_ca_, Leaf("alice@example.com")));
  EXPECT_EQ(r.outcome, HarvestOutcome::kRejected);

  r = Harvest("bob@partner.example", "garbage");
  EXPECT_EQ(r.outcome, HarvestOutcome::kRejected);
  EXPECT_FALSE(ks_->GetEncryptionCertificate("bob@partner.example")->has_value());
  EXPECT_TRUE(ks_->ListCertificates("", "pending")->empty());
}

TEST_F(HarvestTest, PartnerDomainCertificateIsUsedForEveryAddress) {
  std::string domain_cert = MakeLeaf(partner_ca_, Leaf("gateway@partner.example"));
  auto imported = ks_->ImportCertificates("@partner.example", {domain_cert});
  ASSERT_TRUE(imported.ok()) << imported.error().ToString();
  auto enc = ks_->GetEncryptionCertificate("anyone@partner.example");
  ASSERT_TRUE(enc.ok() && enc->has_value());
  EXPECT_TRUE((*enc)->domain_certificate);
  EXPECT_EQ((*enc)->owner, "@partner.example");
  EXPECT_EQ((*enc)->certificate_der, domain_cert);
  EXPECT_FALSE(ks_->GetEncryptionCertificate("x@other.example")->has_value());

  // A personal certificate takes precedence over the domain certificate.
  ASSERT_TRUE(ks_->TrustAdd({partner_ca_.der}).ok());
  std::string personal = MakeLeaf(partner_ca_, Leaf("bob@partner.example"));
  EXPECT_EQ(Harvest("bob@partner.example", personal).outcome, HarvestOutcome::kStored);
  enc = ks_->GetEncryptionCertificate("bob@partner.example");
  EXPECT_EQ((*enc)->certificate_der, personal);

  // An expired domain certificate is refused at import, naming which one.
  auto expired = Leaf("gw@partner.example");
  expired.not_after = now_ - 1h;
  auto bad = ks_->ImportCertificates("@partner.example", {domain_cert, MakeLeaf(partner_ca_, expired)});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("certificate 2"), std::string::npos) << bad.error().message;
}

TEST_F(HarvestTest, OwnDomainKeyImportedFromLegacyPkcs12Decrypts) {
  PkeyPtr key;
  std::string cert = MakeLeaf(partner_ca_, Leaf("domain@example.com"), &key);
  std::string p12 = testing::MakePkcs12(cert, key.get(), "s3cret", /*legacy=*/true, dir_.path());
  auto wrong = ks_->ImportKey("@example.com", p12, "wrong");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  auto r = ks_->ImportKey("@example.com", p12, "s3cret");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto keys = ks_->GetDecryptionKeys("anybody@example.com");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].owner, "@example.com");
  EXPECT_EQ((*keys)[0].certificate_der, cert);
  auto parsed = ParsePrivateKeyDer((*keys)[0].private_key_der);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key.get()), 1);
  EXPECT_FALSE(ks_->ImportKey("@partner.example", p12, "s3cret").ok());  // not hosted
}

TEST_F(HarvestTest, ImportedUserKeySignsAndOlderKeysStay) {
  AddUser("alice@example.com");
  auto issued = ks_->GetSigningIdentity("alice@example.com");  // same (fake) instant as the import
  PkeyPtr key;
  std::string cert = MakeLeaf(partner_ca_, Leaf("alice@example.com"), &key);
  std::string p12 = testing::MakePkcs12(cert, key.get(), "pw", /*legacy=*/false, dir_.path());
  auto r = ks_->ImportKey("alice@example.com", p12, "pw");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto id = ks_->GetSigningIdentity("alice@example.com");
  EXPECT_EQ((*id)->certificate_der, cert);
  EXPECT_EQ(ks_->GetDecryptionKeys("alice@example.com")->size(), 2u);
  // A PKCS#12 for somebody else is refused.
  auto other = ks_->ImportKey("carol@example.com", p12, "pw");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("does not name carol@example.com"), std::string::npos);
  (void)issued;
}

TEST_F(KeyServiceImplTest, ChangeEventsFollowWrites) {
  auto start = ks_->WaitForChanges(0, 0, 0ms);
  ASSERT_TRUE(start.ok());
  EXPECT_TRUE(start->reset);  // no epoch yet: start from scratch
  uint64_t epoch = start->epoch, version = start->version;
  auto none = ks_->WaitForChanges(epoch, version, 10ms);
  EXPECT_TRUE(none->events.empty());
  EXPECT_FALSE(none->reset);
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    AddUser("alice@example.com");
  });
  auto changes = ks_->WaitForChanges(epoch, version, 5000ms);
  writer.join();
  ASSERT_TRUE(changes.ok());
  ASSERT_FALSE(changes->events.empty());
  EXPECT_EQ(changes->events[0].kind, "user");
  EXPECT_EQ(changes->events[0].subject, "alice@example.com");
  auto id = ks_->GetSigningIdentity("alice@example.com");
  changes = ks_->WaitForChanges(epoch, changes->version, 0ms);
  ASSERT_EQ(changes->events.size(), 1u);
  EXPECT_EQ(changes->events[0].kind, "key");
}

TEST_F(KeyServiceImplTest, UsersNeedAHostedDomain) {
  auto r = ks_->PutUsers({User{"x@elsewhere.example", true, ""}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("domain add elsewhere.example"), std::string::npos);
  ASSERT_TRUE(ks_->AddDomain(Domain{"Elsewhere.Example", ""}).ok());
  EXPECT_TRUE(ks_->PutUsers({User{"x@elsewhere.example", true, ""}}).ok());
  EXPECT_EQ(ks_->ListUsers("elsewhere.example")->size(), 1u);
  EXPECT_TRUE(ks_->RemoveUser("x@elsewhere.example").ok());
  EXPECT_EQ(ks_->RemoveUser("x@elsewhere.example").error().code, ErrorCode::kNotFound);
}

// `openssl verify` is the relying party a partner would be.
class OpenSslVerifyTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(OpenSslVerifyTest, IssuedCertificatesVerifyForSmime) {
  TempDir dir;
  auto config = TestConfig(dir.path());
  config.key_type = GetParam();
  metrics::Registry registry;
  SystemClock clock;  // openssl verify checks against the real time
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  ASSERT_TRUE((*ks)->PutUsers({User{"alice@example.com", true, ""}}).ok());
  auto id = (*ks)->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(id.ok() && id->has_value());
  auto pem = [](const std::string& der) { return CertificateToPem(ParseCertificateDer(der)->get()); };
  auto ca = (*ks)->CaExport();
  std::string root = WriteFile(dir.path() / "root.pem", pem(ca->root_der));
  std::string issuing = WriteFile(dir.path() / "issuing.pem", pem(ca->issuing_der));
  std::string leaf = WriteFile(dir.path() / "leaf.pem", pem((*id)->certificate_der));
  auto verify = [&](const std::string& purpose) {
    std::string cmd = "openssl verify -x509_strict -purpose " + purpose + " -CAfile " + root +
                      " -untrusted " + issuing + " " + leaf + " >" +
                      (dir.path() / "verify.out").string() + " 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream in(dir.path() / "verify.out");
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(rc, out);
  };
  auto [rc, out] = verify("smimesign");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(": OK"), std::string::npos) << out;
  if (GetParam() != KeyType::kEcdsaP256) {
    // OpenSSL's smimeencrypt purpose demands keyEncipherment, which the BRs
    // give RSA keys only (EC keys get keyAgreement).
    std::tie(rc, out) = verify("smimeencrypt");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find(": OK"), std::string::npos) << out;
  }
  // A stranger's root does not verify it (the test can fail).
  auto other = MakeCa("Other", std::chrono::system_clock::now());
  WriteFile(dir.path() / "root.pem", pem(other.der));
  std::tie(rc, out) = verify("smimesign");
  EXPECT_NE(rc, 0) << out;
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, OpenSslVerifyTest,
                         ::testing::Values(KeyType::kRsa2048, KeyType::kEcdsaP256));

}  // namespace
}  // namespace sg::keyservice
