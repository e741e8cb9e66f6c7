// Inbound revocation checking end to end through the policy: a signer whose
// certificate OpenSSL's OCSP responder reports revoked gets
// [signed INVALID], "status=revoked" in X-Smimegate-Verification, and is not
// harvested; a good one is [signed OK] and harvested; a dead responder is a
// soft fail unless the From domain is hard-fail.
#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"
#include "tests/support/test_pki.h"
#include "tests/workers/smime/revocation_test_pki.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;

struct Responder {
  std::string dir = smime::testing::MakeTempDir("policy-revocation");
  smime::PkeyPtr key = smime::AdoptPkey(::sg::testing::MakeEcKey().release());
  int port = smime::testing::FreeLoopbackPort();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  std::string down_url = "http://127.0.0.1:" + std::to_string(smime::testing::FreeLoopbackPort()) + "/";
  smime::X509Ptr good, revoked, down;
  std::unique_ptr<smime::testing::ServerProcess> ocsp;

  Responder() {
    const auto& root = GetTestPki().root;
    auto leaf = [&](const std::string& email, const std::string& ocsp_url) {
      return smime::testing::RevocationLeaf(email, root.cert.get(), root.key.get(), key.get(),
                                            ocsp_url, "");
    };
    good = leaf("dora@partner.example", url);
    revoked = leaf("rex@partner.example", url);
    down = leaf("dan@partner.example", down_url);
    smime::testing::WriteFile(dir + "/index.txt", smime::testing::IndexLine(good.get(), false) +
                                                      smime::testing::IndexLine(revoked.get(), true));
    ocsp = std::make_unique<smime::testing::ServerProcess>(
        std::vector<std::string>{"openssl", "ocsp", "-port", std::to_string(port), "-index",
                                 dir + "/index.txt", "-CA", root.cert_path, "-rsigner",
                                 root.cert_path, "-rkey", root.key_path, "-nmin", "60"},
        dir + "/ocsp.log", R"(ACCEPT \S*:(\d+))");
  }
  ~Responder() {
    ocsp.reset();
    smime::testing::RemoveTree(dir);
  }
};

class PolicyRevocation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { responder_ = new Responder(); }
  static void TearDownTestSuite() {
    delete responder_;
    responder_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(responder_->ocsp->port(), 0) << "openssl ocsp did not start"; }

  static smime::SmimeConfig Config(std::set<std::string> hard_fail = {}) {
    smime::SmimeConfig c;
    c.revocation.allow_private_addresses = true;
    c.revocation.timeout = std::chrono::seconds(2);
    c.revocation.hard_fail_domains = std::move(hard_fail);
    return c;
  }
  // The delivered message for a message signed by |cert| (From: its address).
  static std::string Deliver(Harness& h, const smime::X509Ptr& cert, const std::string& from) {
    h.AddCast();
    smime::SignerIdentity id{responder_->key, cert, {}};
    auto s = h.engine->Sign(TextMessage(from, "Report", "SECRET-BODY signed\r\n"), id);
    EXPECT_TRUE(s.ok());
    auto out = h.Run(Record(v1::DIRECTION_INBOUND, from, {"alice@example.com"}, *s));
    EXPECT_TRUE(out.ok() && out->size() == 1u);
    return (out.ok() && out->size() == 1u) ? (*out)[0].message() : "";
  }
  static Responder* responder_;
};
Responder* PolicyRevocation::responder_ = nullptr;

TEST_F(PolicyRevocation, RevokedSignerIsInvalidAndNotHarvested) {
  Harness h({}, Config());
  const std::string got = Deliver(h, responder_->revoked, "rex@partner.example");
  EXPECT_EQ(GetSubject(got).value(), "[signed INVALID] Report");
  EXPECT_NE(got.find("status=revoked"), std::string::npos) << got.substr(0, 800);
  EXPECT_TRUE(h.keys.harvested().empty()) << "a revoked certificate is never stored";
}

TEST_F(PolicyRevocation, GoodSignerIsOkAndHarvested) {
  Harness h({}, Config());
  const std::string got = Deliver(h, responder_->good, "dora@partner.example");
  EXPECT_EQ(GetSubject(got).value(), "[signed OK] Report");
  EXPECT_EQ(h.keys.harvested().size(), 1u);
}

TEST_F(PolicyRevocation, ResponderDownIsSoftFailUnlessTheDomainIsHardFail) {
  Harness soft({}, Config());
  EXPECT_EQ(GetSubject(Deliver(soft, responder_->down, "dan@partner.example")).value(),
            "[signed OK] Report");
  Harness hard({}, Config({"partner.example"}));
  const std::string got = Deliver(hard, responder_->down, "dan@partner.example");
  EXPECT_EQ(GetSubject(got).value(), "[signed INVALID] Report");
  EXPECT_NE(got.find("status=revocation_unknown"), std::string::npos) << got.substr(0, 800);
  EXPECT_TRUE(hard.keys.harvested().empty());
}

}  // namespace
}  // namespace sg::workers::testing
