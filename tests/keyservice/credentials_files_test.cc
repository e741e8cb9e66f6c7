// TLS identities read from PEM (the server's files, a client's credentials):
// one check, errors that name the file and what is wrong with it.
#include "keyservice/credentials_files.h"

#include <gtest/gtest.h>

#include "keyservice/rpc_tls.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;

class PemIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto now = std::chrono::system_clock::now();
    ca_ = testing::MakeCa("Identity CA", now);
    testing::LeafOptions lo;
    lo.not_before = now - 1h;
    lo.not_after = now + 24h;
    lo.email = "svc@example.com";
    PkeyPtr key;
    cert_pem_ = CertificateToPem(ParseCertificateDer(testing::MakeLeaf(ca_, lo, &key))->get());
    key_pem_ = PrivateKeyToPem(key.get());
    other_key_pem_ = PrivateKeyToPem(GenerateKey(KeyType::kEcdsaP256)->get());
    ca_pem_ = CertificateToPem(ca_.cert.get());
  }

  testing::TestCa ca_;
  std::string cert_pem_, key_pem_, other_key_pem_, ca_pem_;
};

TEST_F(PemIdentityTest, ServerMaterialErrorsNameThePart) {
  const std::string where = "keyservice.tls (c, k, ca)";
  EXPECT_TRUE(CheckTlsMaterial({cert_pem_, key_pem_, ca_pem_}, where).ok());
  Status st = CheckTlsMaterial({cert_pem_, other_key_pem_, ca_pem_}, where);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().message,
            where + ": the key file does not belong to the certificate in " + where +
                ": the certificate file");
  st = CheckTlsMaterial({"garbage", key_pem_, ca_pem_}, where);
  EXPECT_EQ(st.error().message, where + ": the certificate file: no PEM certificate");
  st = CheckTlsMaterial({cert_pem_, key_pem_, "garbage"}, where);
  EXPECT_EQ(st.error().message, where + ": the client CA file: no PEM certificate");
  st = CheckTlsMaterial({cert_pem_, cert_pem_, ca_pem_}, where);
  EXPECT_EQ(st.error().message, where + ": the key file: no PEM private key");
}

TEST_F(PemIdentityTest, ClientCredentialsFromFilesNameTheFile) {
  testing::TempDir dir;
  const std::string d = (dir.path() / "creds").string();
  ASSERT_TRUE(WriteCredentialsDir(d, cert_pem_, key_pem_, ca_pem_).ok());
  auto creds = CredentialsFromDir(d, "issue them");
  ASSERT_TRUE(creds.ok()) << creds.error().message;
  EXPECT_TRUE(CheckClientCredentials(*creds).ok());
  ASSERT_TRUE(WriteCredentialsDir(d, cert_pem_, other_key_pem_, ca_pem_).ok());
  Status st = CheckClientCredentials(*creds);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, d + "/key.pem does not belong to the certificate in " + d + "/cert.pem");
  ClientCredentials in_memory;
  in_memory.cert_pem = cert_pem_;
  in_memory.key_pem = key_pem_;
  in_memory.ca_pem = "no";
  EXPECT_EQ(CheckClientCredentials(in_memory).error().message, "CA certificate: no PEM certificate");
}

}  // namespace
}  // namespace sg::keyservice
