// Interoperability with OpenSSL's own `openssl cms` tool, both directions.
#include <gtest/gtest.h>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

class OpensslInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = SmimeEngine::Create().value();
    dir_ = MakeTempDir("sgossl");
  }
  void TearDown() override { RemoveTree(dir_); }
  std::string Path(const std::string& f) { return dir_ + "/" + f; }
  VerifyResult VerifyHere(const std::string& msg) {
    return engine_->Verify(msg, GetTestPki().Trust(), std::time(nullptr)).value();
  }
  std::unique_ptr<SmimeEngine> engine_;
  std::string dir_;
};

TEST_F(OpensslInterop, OurSignaturesVerifyInOpenssl) {
  const auto& pki = GetTestPki();
  SignOptions pss;
  pss.rsa_pss = true;
  struct Case {
    const TestIdentity* id;
    SignOptions opt;
  };
  for (const Case& c : {Case{&pki.alice, {}}, Case{&pki.bob, {}}, Case{&pki.alice, pss}}) {
    auto s = engine_->Sign(SampleMessage(c.id->email,
                                         "Gr\xc3\xbc\xc3\x9f"
                                         "e, a test\r\n"),
                           c.id->Signer(), c.opt);
    ASSERT_TRUE(s.ok());
    WriteFile(Path("signed.eml"), *s);
    std::string log;
    int rc = RunTool("openssl cms -verify -in " + Path("signed.eml") + " -CAfile " +
                         pki.root.cert_path + " -purpose smimesign -out " + Path("content.txt"),
                     &log);
    EXPECT_EQ(rc, 0) << c.id->name << ": " << log;
    EXPECT_NE(log.find("Verification successful"), std::string::npos) << log;
    EXPECT_NE(ReadFile(Path("content.txt")).find("Gr=C3=BC=C3=9Fe, a test"), std::string::npos);
  }
}

TEST_F(OpensslInterop, OpensslSignaturesVerifyHere) {
  const auto& pki = GetTestPki();
  WriteFile(Path("entity.txt"), SampleEntity("Hello from openssl cms"));
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    for (bool detached : {true, false}) {
      std::string log;
      ASSERT_EQ(
          RunTool("openssl cms -sign -in " + Path("entity.txt") + " -signer " + id->cert_path +
                      " -inkey " + id->key_path + " -certfile " + pki.chain_path +
                      (detached ? "" : " -nodetach") + " -out " + Path("sig.eml"),
                  &log),
          0)
          << log;
      std::string msg = "From: " + id->email +
                        "\nTo: x@example.net\nSubject: from openssl\nDate: " + DateNow() + "\n" +
                        ReadFile(Path("sig.eml"));  // LF line endings, as openssl writes them
      VerifyResult v = VerifyHere(msg);
      EXPECT_EQ(v.status, VerifyStatus::kGood)
          << id->name << " detached=" << detached << ": " << v.detail;
      EXPECT_EQ(v.opaque, !detached);
      if (!detached) {
        EXPECT_NE(v.content.find("Hello from openssl cms"), std::string::npos);
      }
      // One changed byte in the signed text must be caught.
      size_t at = msg.find("Hello from");
      if (detached && at != std::string::npos) {
        msg[at] = 'J';
        EXPECT_EQ(VerifyHere(msg).status, VerifyStatus::kBadSignature);
      }
    }
  }
}

TEST_F(OpensslInterop, OurEncryptionDecryptsInOpenssl) {
  const auto& pki = GetTestPki();
  struct Case {
    const TestIdentity* id;
    bool gcm;
    bool oaep;
  };
  for (const Case& c :
       {Case{&pki.alice, false, false}, Case{&pki.bob, false, false}, Case{&pki.alice, true, false},
        Case{&pki.carol, false, true}, Case{&pki.bob, true, false}}) {
    Recipient r{c.id->cert, c.gcm, c.oaep};
    auto enc =
        engine_->Encrypt(SampleMessage("x@example.net", "top secret words\r\n"), std::span(&r, 1));
    ASSERT_TRUE(enc.ok()) << enc.error().ToString();
    EXPECT_EQ(enc->auth_enveloped, c.gcm);
    WriteFile(Path("enc.eml"), enc->message);
    std::string log;
    int rc = RunTool("openssl cms -decrypt -in " + Path("enc.eml") + " -recip " + c.id->cert_path +
                         " -inkey " + c.id->key_path + " -out " + Path("plain.txt"),
                     &log);
    EXPECT_EQ(rc, 0) << c.id->name << " gcm=" << c.gcm << " oaep=" << c.oaep << ": " << log;
    EXPECT_NE(ReadFile(Path("plain.txt")).find("top secret words"), std::string::npos);
  }
}

TEST_F(OpensslInterop, OpensslEncryptionDecryptsHere) {
  const auto& pki = GetTestPki();
  WriteFile(Path("entity.txt"), SampleEntity("encrypted by openssl"));
  struct Case {
    const TestIdentity* id;
    std::string args;
    bool auth;
    std::string keyopt;
  };
  for (const Case& c :
       {Case{&pki.alice, "-aes256", false, ""}, Case{&pki.bob, "-aes256", false, ""},
        Case{&pki.alice, "-aes-256-gcm", true, ""},
        Case{&pki.carol, "-aes128", false, " -keyopt rsa_padding_mode:oaep"}}) {
    std::string log;
    ASSERT_EQ(RunTool("openssl cms -encrypt " + c.args + " -in " + Path("entity.txt") + " -out " +
                          Path("enc.eml") + " -recip " + c.id->cert_path + c.keyopt,
                      &log),
              0)
        << log;
    std::string msg = "From: x@example.net\nSubject: secret\n" + ReadFile(Path("enc.eml"));
    KeyPair kp = c.id->Pair();
    auto dec = engine_->Decrypt(msg, std::span(&kp, 1));
    ASSERT_TRUE(dec.ok()) << c.id->name << " " << c.args << ": " << dec.error().ToString();
    EXPECT_EQ(dec->auth_enveloped, c.auth);
    EXPECT_NE(dec->message.find("encrypted by openssl"), std::string::npos);
    EXPECT_NE(dec->message.find("Subject: secret\r\n"), std::string::npos);
  }
}

}  // namespace
}  // namespace sg::smime
