// CSV and certificate file parsing: line-precise errors.
#include "keyservice/import_files.h"

#include <gtest/gtest.h>

#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

TEST(UsersCsvTest, ParsesHeaderCommentsQuotesAndDefaults) {
  auto users = ParseUsersCsv(
      "address,participating,tenant\r\n"
      "# staff\n"
      "alice@example.com\n"
      "\n"
      "\"Bob@Example.com\",no,\"ACME, Inc\"\n"
      "carol@example.com,yes\n",
      "users.csv");
  ASSERT_TRUE(users.ok()) << users.error().message;
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].address, "alice@example.com");
  EXPECT_TRUE((*users)[0].participating);
  EXPECT_EQ((*users)[1].address, "bob@example.com");
  EXPECT_FALSE((*users)[1].participating);
  EXPECT_EQ((*users)[1].tenant, "ACME, Inc");
  EXPECT_TRUE((*users)[2].participating);
}

TEST(UsersCsvTest, ReportsEveryBadLineWithItsNumber) {
  auto users = ParseUsersCsv(
      "alice@example.com\n"
      "bob@\n"
      "carol@example.com,maybe\n"
      "dave@example.com,yes,t,extra\n"
      "\"erin@example.com\n"
      "alice@example.com\n",
      "users.csv");
  ASSERT_FALSE(users.ok());
  const std::string& m = users.error().message;
  EXPECT_NE(m.find("users.csv:2: \"bob@\" is not an email address"), std::string::npos) << m;
  EXPECT_NE(m.find("users.csv:3: participating must be yes or no, got \"maybe\""), std::string::npos) << m;
  EXPECT_NE(m.find("users.csv:4: expected at most 3 fields"), std::string::npos) << m;
  EXPECT_NE(m.find("users.csv:5: unterminated quoted field"), std::string::npos) << m;
  EXPECT_NE(m.find("users.csv:6: alice@example.com is listed twice"), std::string::npos) << m;
  EXPECT_EQ(m.find("users.csv:1:"), std::string::npos) << m;
}

TEST(UsersCsvTest, EmptyFileIsAnError) {
  auto users = ParseUsersCsv("# nothing\n\n", "u.csv");
  ASSERT_FALSE(users.ok());
  EXPECT_EQ(users.error().message, "u.csv: no users in the file");
}

class CertificateFileTest : public ::testing::Test {
 protected:
  std::string Pem() {
    auto ca = testing::MakeCa("X", std::chrono::system_clock::now());
    return CertificateToPem(ca.cert.get());
  }
};

TEST_F(CertificateFileTest, ReadsBundlesAndDer) {
  std::string a = Pem(), b = Pem();
  auto certs = ParseCertificateFile("subject=whatever\n" + a + "\n" + b, "bundle.pem");
  ASSERT_TRUE(certs.ok()) << certs.error().message;
  EXPECT_EQ(certs->size(), 2u);
  auto der = ParseCertificateFile((*certs)[0], "one.der");
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(der->size(), 1u);
}

TEST_F(CertificateFileTest, BadBlocksNameLineAndBlock) {
  std::string a = Pem();
  // a is 1 BEGIN line + base64 lines + END line; corrupt the second block's 3rd line.
  std::string b = Pem();
  size_t l1 = b.find('\n'), l2 = b.find('\n', l1 + 1);
  b[l2 + 5] = '*';
  size_t a_lines = static_cast<size_t>(std::count(a.begin(), a.end(), '\n'));
  auto r = ParseCertificateFile(a + b, "partner.pem");
  ASSERT_FALSE(r.ok());
  std::string want = "partner.pem:" + std::to_string(a_lines + 3) + ": certificate 2 (BEGIN at line " +
                     std::to_string(a_lines + 1) + "): bad base64 character '*'";
  EXPECT_EQ(r.error().message, want);

  r = ParseCertificateFile(a.substr(0, a.size() - 30), "cut.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("certificate 1 (BEGIN at line 1)"), std::string::npos)
      << r.error().message;

  r = ParseCertificateFile("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "k.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("k.pem:1: -----BEGIN PRIVATE KEY----- is not a certificate"),
            std::string::npos) << r.error().message;

  // Valid base64 that is not a certificate.
  r = ParseCertificateFile("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "x.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("x.pem:2: certificate 1"), std::string::npos) << r.error().message;

  r = ParseCertificateFile("hello", "x.der");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("neither PEM"), std::string::npos);
}

}  // namespace
}  // namespace sg::keyservice
