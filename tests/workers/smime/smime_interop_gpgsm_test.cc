// Interoperability with GnuPG's gpgsm, both directions (RSA: gpgsm 2.2 in
// Debian 12 cannot import EC PKCS#12 files, it crashes on them).
//
// gpgsm runs with a temporary GNUPGHOME, in batch mode with loopback
// pinentry; the root is trusted through trustlist.txt and CRL checks are
// off (the test PKI has no CRL distribution points).
#include <gtest/gtest.h>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr char kPass[] = "test-pass";

class GpgsmInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunTool("command -v gpgsm") != 0) {
      FAIL() << "gpgsm not installed (scripts/setup-deps.sh installs it)";
    }
    engine_ = SmimeEngine::Create().value();
    home_ = MakeTempDir("sggpg");  // short: gpg-agent's socket path must fit
    const auto& pki = GetTestPki();
    WriteFile(home_ + "/gpgsm.conf", "disable-crl-checks\ndisable-policy-checks\n");
    WriteFile(home_ + "/gpg-agent.conf", "allow-loopback-pinentry\n");
    // Start the agent now and wait for it, rather than letting the first
    // gpgsm call autostart it under a time limit (a loaded CI machine).
    ASSERT_EQ(RunTool("gpgconf --homedir " + home_ + " --launch gpg-agent"), 0);
    std::string fpr;
    ASSERT_EQ(RunTool("openssl x509 -in " + pki.root.cert_path +
                          " -noout -fingerprint -sha1 | cut -d= -f2",
                      &fpr),
              0);
    WriteFile(home_ + "/trustlist.txt", fpr.substr(0, fpr.find('\n')) + " S\n");
    std::string log;
    ASSERT_EQ(Gpgsm("--import " + pki.root.cert_path + " " + pki.intermediate.cert_path, &log), 0)
        << log;
    // gpgsm 2.2's PKCS#12 reader refuses about one in thirty files that
    // `openssl pkcs12 -export` makes with the legacy 3DES settings and the
    // right passphrase (its check of the decrypted bags is a heuristic:
    // "error at bag.encryptedData" or "shrouded_key_bag.decrypted-text"),
    // always the same file: it depends on the random salt and IV, not on the
    // key. The test is about S/MIME interoperability, so a refused file is
    // made again (fresh salt), at most five times; any other error fails.
    for (int attempt = 1;; ++attempt) {
      std::string p12 = MakeLegacyP12(pki.alice, home_, kPass);
      int rc = Gpgsm("--import " + p12, &log);
      if (rc == 0) break;
      ASSERT_TRUE(attempt < 5 &&
                  log.find("error parsing or decrypting the PKCS#12 file") != std::string::npos)
          << log;
    }
    ASSERT_NE(log.find("secret keys imported: 1"), std::string::npos) << log;
  }
  void TearDown() override {
    if (home_.empty()) return;
    RunTool("gpgconf --homedir " + home_ + " --kill gpg-agent");
    RemoveTree(home_);
  }
  int Gpgsm(const std::string& args, std::string* log) {
    return RunTool("echo " + std::string(kPass) + " | GNUPGHOME=" + home_ +
                       " gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 " + args,
                   log);
  }
  std::string Path(const std::string& f) { return home_ + "/" + f; }

  std::unique_ptr<SmimeEngine> engine_;
  std::string home_;
};

TEST_F(GpgsmInterop, OurSignatureVerifiesInGpgsm) {
  auto s = engine_->Sign(SampleMessage(), GetTestPki().alice.Signer());
  ASSERT_TRUE(s.ok());
  DetachedParts parts = ExtractDetached(*s);
  WriteFile(Path("content.txt"), parts.content);
  WriteFile(Path("sig.der"), parts.der);
  std::string log;
  EXPECT_EQ(Gpgsm("--verify " + Path("sig.der") + " " + Path("content.txt"), &log), 0) << log;
  EXPECT_NE(log.find("Good signature"), std::string::npos) << log;
  WriteFile(Path("content.txt"), parts.content + "x");
  EXPECT_NE(Gpgsm("--verify " + Path("sig.der") + " " + Path("content.txt"), &log), 0) << log;
}

TEST_F(GpgsmInterop, GpgsmSignatureVerifiesHere) {
  std::string content = SampleEntity("signed by gpgsm");
  WriteFile(Path("content.txt"), content);
  std::string log;
  ASSERT_EQ(
      Gpgsm("-u alice@example.com --detach-sign -o " + Path("sig.der") + " " + Path("content.txt"),
            &log),
      0)
      << log;
  std::string msg = WrapDetached("alice@example.com", content, ReadFile(Path("sig.der")));
  auto v = engine_->Verify(msg, GetTestPki().Trust(), std::time(nullptr));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, VerifyStatus::kGood) << v->detail;
  EXPECT_TRUE(v->signing_time.has_value());
}

TEST_F(GpgsmInterop, OurEncryptionDecryptsInGpgsm) {
  Recipient r{GetTestPki().alice.cert};
  auto enc =
      engine_->Encrypt(SampleMessage("x@example.net", "for gpgsm only\r\n"), std::span(&r, 1));
  ASSERT_TRUE(enc.ok());
  WriteFile(Path("enc.der"), ExtractP7m(enc->message));
  std::string log;
  ASSERT_EQ(Gpgsm("--decrypt -o " + Path("plain.txt") + " " + Path("enc.der"), &log), 0) << log;
  EXPECT_NE(ReadFile(Path("plain.txt")).find("for gpgsm only"), std::string::npos);
}

TEST_F(GpgsmInterop, GpgsmEncryptionDecryptsHere) {
  WriteFile(Path("content.txt"), SampleEntity("encrypted by gpgsm"));
  std::string log;
  ASSERT_EQ(
      Gpgsm("-r alice@example.com --encrypt -o " + Path("enc.der") + " " + Path("content.txt"),
            &log),
      0)
      << log;
  KeyPair kp = GetTestPki().alice.Pair();
  auto dec = engine_->Decrypt(WrapP7m("x@example.net", ReadFile(Path("enc.der")), "enveloped-data"),
                              std::span(&kp, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_NE(dec->message.find("encrypted by gpgsm"), std::string::npos);
}

}  // namespace
}  // namespace sg::smime
