// Interoperability with NSS (the S/MIME engine of Thunderbird) through its
// cmsutil / certutil / pk12util tools, both directions, in a temporary NSS db.
// NSS 3.87 (Debian 12) signs and verifies RSA and ECDSA and decrypts RSA
// EnvelopedData; it has no ECDH key agreement and no AuthEnvelopedData,
// which is why AES-256-CBC stays our default content cipher.
#include <gtest/gtest.h>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

class NssInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunTool("command -v cmsutil && command -v certutil && command -v pk12util") != 0) {
      FAIL() << "libnss3-tools not installed (scripts/setup-deps.sh installs it)";
    }
    engine_ = SmimeEngine::Create().value();
    dir_ = MakeTempDir("sgnss");
    const auto& pki = GetTestPki();
    std::string log;
    ASSERT_EQ(RunTool("certutil -N -d " + Db() + " --empty-password", &log), 0) << log;
    for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
      std::string p12 = MakeLegacyP12(*id, dir_, "pw");
      ASSERT_EQ(RunTool("pk12util -i " + p12 + " -d " + Db() + " -W pw", &log), 0) << log;
    }
    ASSERT_EQ(
        RunTool("certutil -A -d " + Db() + " -n root -t C,C,C -i " + pki.root.cert_path, &log), 0)
        << log;
  }
  void TearDown() override {
    if (!dir_.empty()) RemoveTree(dir_);
  }
  std::string Db() const { return "sql:" + dir_; }
  std::string Path(const std::string& f) const { return dir_ + "/" + f; }

  std::unique_ptr<SmimeEngine> engine_;
  std::string dir_;
};

TEST_F(NssInterop, OurSignaturesVerifyInNss) {
  const auto& pki = GetTestPki();
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    auto s = engine_->Sign(SampleMessage(id->email), id->Signer());
    ASSERT_TRUE(s.ok());
    DetachedParts parts = ExtractDetached(*s);
    WriteFile(Path("content.txt"), parts.content);
    WriteFile(Path("sig.der"), parts.der);
    std::string log;
    // -u 4: certUsageEmailSigner, so NSS checks chain and purpose too.
    EXPECT_EQ(RunTool("cmsutil -D -u 4 -i " + Path("sig.der") + " -c " + Path("content.txt") +
                          " -d " + Db(),
                      &log),
              0)
        << id->name << ": " << log;
    WriteFile(Path("content.txt"), parts.content + " ");
    EXPECT_NE(RunTool("cmsutil -D -u 4 -i " + Path("sig.der") + " -c " + Path("content.txt") +
                          " -d " + Db(),
                      &log),
              0);
    EXPECT_NE(log.find("DigestMismatch"), std::string::npos) << log;
  }
}

TEST_F(NssInterop, NssSignaturesVerifyHere) {
  const auto& pki = GetTestPki();
  std::string content = SampleEntity("signed by NSS");
  WriteFile(Path("content.txt"), content);
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    std::string log;
    ASSERT_EQ(RunTool("cmsutil -S -N " + id->name + " -T -G -P -H SHA256 -i " +
                          Path("content.txt") + " -o " + Path("sig.der") + " -d " + Db(),
                      &log),
              0)
        << log;
    std::string msg = WrapDetached(id->email, content, ReadFile(Path("sig.der")));
    auto v = engine_->Verify(msg, pki.Trust(), std::time(nullptr));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->status, VerifyStatus::kGood) << id->name << ": " << v->detail;
    EXPECT_FALSE(v->capabilities.algorithms.empty());  // -P: NSS announces its ciphers
  }
}

TEST_F(NssInterop, OurEncryptionDecryptsInNss) {
  Recipient r{GetTestPki().alice.cert};
  auto enc =
      engine_->Encrypt(SampleMessage("x@example.net", "for thunderbird\r\n"), std::span(&r, 1));
  ASSERT_TRUE(enc.ok());
  WriteFile(Path("enc.der"), ExtractP7m(enc->message));
  std::string log;
  ASSERT_EQ(RunTool("cmsutil -D -i " + Path("enc.der") + " -o " + Path("plain.txt") + " -d " + Db(),
                    &log),
            0)
      << log;
  EXPECT_NE(ReadFile(Path("plain.txt")).find("for thunderbird"), std::string::npos);
}

TEST_F(NssInterop, NssEncryptionDecryptsHere) {
  WriteFile(Path("content.txt"), SampleEntity("encrypted by NSS"));
  std::string log;
  ASSERT_EQ(RunTool("cmsutil -E -r alice@example.com -i " + Path("content.txt") + " -o " +
                        Path("enc.der") + " -d " + Db(),
                    &log),
            0)
      << log;
  KeyPair kp = GetTestPki().alice.Pair();
  auto dec = engine_->Decrypt(WrapP7m("x@example.net", ReadFile(Path("enc.der")), "enveloped-data"),
                              std::span(&kp, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_NE(dec->message.find("encrypted by NSS"), std::string::npos);
}

}  // namespace
}  // namespace sg::smime
