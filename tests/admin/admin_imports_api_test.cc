// Trust changes and imports over the admin REST API: a super token trusts
// CA certificates (PEM or DER in JSON), removes and approves anchors; a
// tenant token imports its user's PKCS#12 (the body never reaches the audit
// trail) and recipient certificates of its own addresses, while partner
// certificates are super only. Corrupt and oversized input answers 400
// with a message naming the problem.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin/admin_json.h"
#include "common/mail/base64.h"
#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;
namespace kt = keyservice::testing;
using std::chrono::hours;

std::string Code(const testing::HttpAnswer& a) {
  auto j = Json::parse(a.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"]["message"].get<std::string>() : a.body;
}

class AdminImportsApiTest : public ::testing::Test {
 protected:
  // A leaf certificate for `email` from the partner CA, valid now.
  std::string Leaf(const std::string& email, keyservice::PkeyPtr* key = nullptr) {
    const auto now = server_.clock().Now();
    return kt::MakeLeaf(ca_, {email, now - hours(1), now + hours(24 * 365)}, key);
  }
  static std::string PemBody(const std::string& pem) { return Json{{"pem", pem}}.dump(); }
  bool Trusted(const std::string& fingerprint) {
    auto trust = server_.ks().TrustSources();
    if (!trust.ok()) return false;
    for (const auto& a : trust->anchors) {
      if (a.fingerprint == fingerprint) return true;
    }
    return false;
  }

  AdminTestServer server_;
  kt::TestCa ca_ = kt::MakeCa("Partner CA", server_.clock().Now());
};

TEST_F(AdminImportsApiTest, SuperAddsAndRemovesTrustAnchors) {
  const std::string super = server_.Token("super");
  auto added = server_.Call("POST", "/v1/trust", super, PemBody(CertificatePem(ca_.der)));
  ASSERT_EQ(added.status, 201) << added.body;
  const std::string fp = Json::parse(added.body)["fingerprints"][0].get<std::string>();
  EXPECT_TRUE(Trusted(fp));
  EXPECT_NE(server_.Call("GET", "/v1/trust", server_.Token("tenant:a")).body.find(fp),
            std::string::npos);
  EXPECT_EQ(server_.Call("DELETE", "/v1/trust/" + fp, super).status, 204);
  EXPECT_FALSE(Trusted(fp));
  EXPECT_EQ(server_.Call("DELETE", "/v1/trust/" + fp, super).status, 404);
  // DER in base64 works the same.
  auto der = server_.Call("POST", "/v1/trust", super,
                          Json{{"der", mail::Base64EncodeOneLine(ca_.der)}}.dump());
  ASSERT_EQ(der.status, 201) << der.body;
  EXPECT_TRUE(Trusted(fp));
  auto pending =
      server_.Call("POST", "/v1/trust/pending/" + std::string(64, 'a') + "/approve", super);
  EXPECT_EQ(pending.status, 404) << pending.body;
}

TEST_F(AdminImportsApiTest, CorruptAndOversizedCertificatesAreRefusedWithTheReason) {
  const std::string super = server_.Token("super");
  std::string many;
  for (int i = 0; i < 101; ++i) many += CertificatePem(ca_.der);
  struct Bad {
    std::string body, message_part;
  };
  const std::vector<Bad> cases = {
      {"{}", "give the certificates as \"pem\""},
      {Json{{"pem", CertificatePem(ca_.der)}, {"der", "AAAA"}}.dump(), "give the certificates"},
      {PemBody("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"), "pem:"},
      {PemBody("hello"), "pem"},
      {Json{{"der", "%%%"}}.dump(), "\"der\" is not valid base64"},
      {Json{{"der", mail::Base64EncodeOneLine("garbage")}}.dump(), "der"},
      {PemBody(many), "101 certificates in one request; at most 100"},
      {PemBody(CertificatePem(Leaf("x@partner.example"))), "not a CA certificate"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.body.substr(0, 80));
    auto r = server_.Call("POST", "/v1/trust", super, bad.body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(Code(r).find(bad.message_part), std::string::npos) << Code(r);
  }
}

TEST_F(AdminImportsApiTest, TenantImportsItsUsersKeyAndTheBodyIsNeverAudited) {
  const std::string a = server_.Token("tenant:a");
  keyservice::PkeyPtr key;
  const std::string cert = Leaf("ann@a.example", &key);
  const std::string p12 = kt::MakePkcs12(cert, key.get(), "s3cret-pw", false, server_.dir());
  const std::string b64 = mail::Base64EncodeOneLine(p12);

  auto wrong = server_.Call("POST", "/v1/users/ann@a.example/keys", a,
                            Json{{"pkcs12", b64}, {"password", "nope"}}.dump());
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_NE(Code(wrong).find("wrong password"), std::string::npos) << wrong.body;
  auto corrupt = server_.Call("POST", "/v1/users/ann@a.example/keys", a,
                              Json{{"pkcs12", "!!"}, {"password", "x"}}.dump());
  EXPECT_EQ(corrupt.status, 400);
  EXPECT_NE(Code(corrupt).find("\"pkcs12\" is not valid base64"), std::string::npos);
  auto big =
      server_.Call("POST", "/v1/users/ann@a.example/keys", a,
                   Json{{"pkcs12", mail::Base64EncodeOneLine(std::string(300000, 'x'))}}.dump());
  EXPECT_EQ(big.status, 400);
  EXPECT_NE(Code(big).find("at most 256 KiB"), std::string::npos) << Code(big);
  auto other = server_.Call("POST", "/v1/users/cat@a.example/keys", a,
                            Json{{"pkcs12", b64}, {"password", "s3cret-pw"}}.dump());
  EXPECT_EQ(other.status, 400) << other.body;  // the certificate names ann, not cat

  auto ok = server_.Call("POST", "/v1/users/ann@a.example/keys", a,
                         Json{{"pkcs12", b64}, {"password", "s3cret-pw"}}.dump());
  ASSERT_EQ(ok.status, 201) << ok.body;
  const std::string fp = Json::parse(ok.body)["fingerprint"].get<std::string>();
  bool found = false;
  auto certs = server_.ks().ListCertificates("ann@a.example", "");
  ASSERT_TRUE(certs.ok());
  for (const auto& c : *certs) found = found || c.fingerprint == fp;
  EXPECT_TRUE(found);

  // Without a token and to a mistyped path: refused, and still not audited.
  server_.Call("POST", "/v1/users/ann@a.example/keys", "",
               Json{{"pkcs12", b64}, {"password", "s3cret-pw"}}.dump());
  server_.Call("POST", "/v1/users/ann@a.example/keys/", a,
               Json{{"pkcs12", b64}, {"password", "s3cret-pw"}}.dump());
  auto records = server_.ks().ListAudit(0, 1000);
  ASSERT_TRUE(records.ok());
  int withheld = 0;
  for (const auto& r : *records) {
    EXPECT_EQ(r.arguments.find("s3cret-pw"), std::string::npos) << r.arguments;
    EXPECT_EQ(r.arguments.find(b64.substr(0, 32)), std::string::npos) << r.arguments;
    withheld += r.arguments.find("<body withheld: ") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(withheld, 7);
}

TEST_F(AdminImportsApiTest, RecipientCertificatesOfOwnAddressesButPartnersOnlyBySuper) {
  const std::string a = server_.Token("tenant:a");
  const std::string super = server_.Token("super");
  auto own = server_.Call(
      "POST", "/v1/certificates", a,
      Json{{"owner", "ann@a.example"}, {"pem", CertificatePem(Leaf("ann@a.example"))}}.dump());
  ASSERT_EQ(own.status, 201) << own.body;
  const std::string partner_pem = CertificatePem(Leaf("pat@partner.example"));
  const std::string partner = Json{{"owner", "pat@partner.example"}, {"pem", partner_pem}}.dump();
  auto refused = server_.Call("POST", "/v1/certificates", a, partner);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_TRUE(server_.ks().ListCertificates("pat@partner.example", "")->empty());
  auto wrong_owner =
      server_.Call("POST", "/v1/certificates", super,
                   Json{{"owner", "other@partner.example"}, {"pem", partner_pem}}.dump());
  EXPECT_EQ(wrong_owner.status, 400) << wrong_owner.body;
  auto imported = server_.Call("POST", "/v1/certificates", super, partner);
  ASSERT_EQ(imported.status, 201) << imported.body;
  EXPECT_EQ(server_.ks().ListCertificates("pat@partner.example", "")->size(), 1u);
}

}  // namespace
}  // namespace sg::admin
