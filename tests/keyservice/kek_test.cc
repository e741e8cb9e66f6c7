// The key-encryption key: sealing, the formats it accepts (raw key,
// passphrase through Argon2id), the file mode check, and rotation (old and
// new KEK both accepted until `kek rotate` completes, also when it is
// killed midway).
#include "keyservice/kek.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using testing::TempDir;

TEST(KekTest, SealsAndOpensBoundToTheRecord) {
  auto kek = Kek::FromMaterial(std::string(64, 'b'), "test");
  ASSERT_TRUE(kek.ok());
  std::string sealed = kek->Seal("secret key bytes", "key/alice");
  EXPECT_EQ(sealed.find("secret"), std::string::npos);
  EXPECT_EQ(*kek->Open(sealed, "key/alice"), "secret key bytes");
  EXPECT_EQ(kek->Open(sealed, "key/mallory").error().code, ErrorCode::kPermissionDenied);
  sealed[30] ^= 1;
  EXPECT_EQ(kek->Open(sealed, "key/alice").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(kek->Open("x", "key/alice").error().code, ErrorCode::kCorruption);
  auto other = Kek::FromMaterial(std::string(64, 'c'), "test");
  EXPECT_FALSE(other->Open(kek->Seal("k", "a"), "a").ok());
  EXPECT_NE(other->Open(kek->Seal("k", "a"), "a").error().message.find(kek->id()), std::string::npos)
      << "the message names the KEK id the record was sealed under";
}

TEST(KekTest, AcceptsRawHexAndBase64AndRejectsTheRest) {
  EXPECT_TRUE(Kek::FromMaterial(std::string(32, '\x01'), "raw").ok());
  EXPECT_TRUE(Kek::FromMaterial(std::string(64, 'F') + "\n", "hex").ok());
  EXPECT_TRUE(Kek::FromMaterial("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "b64").ok());
  auto bad = Kek::FromMaterial("too short", "environment variable SMIMEGATE_KEK");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("environment variable SMIMEGATE_KEK"), std::string::npos);
  EXPECT_EQ(bad.error().message.find("too short"), std::string::npos);  // never echo key material
}

// Stores written before KEK ids (format v1) still open.
TEST(KekTest, OpensTheVersion1Format) {
  std::string hex(64, 'a');
  auto kek = Kek::FromMaterial(hex, "test");
  unsigned char key[32];
  std::fill(key, key + 32, 0xaa);
  unsigned char nonce[12];
  RAND_bytes(nonce, sizeof(nonce));
  std::string plain = "pkcs8 bytes", aad = "key/alice";
  std::string v1(1 + 12 + plain.size() + 16, '\0');
  auto* o = reinterpret_cast<unsigned char*>(v1.data());
  o[0] = 0x01;
  std::copy(nonce, nonce + 12, o + 1);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nonce);
  EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                    static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, o + 13, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, o + 13 + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + 13 + plain.size());
  EVP_CIPHER_CTX_free(ctx);
  ASSERT_TRUE(kek->Open(v1, aad).ok());
  EXPECT_EQ(*kek->Open(v1, aad), plain);
  EXPECT_FALSE(kek->SealedUnderCurrent(v1)) << "a rotation re-seals v1 records";
  auto resealed = kek->Reseal(v1, aad);
  ASSERT_TRUE(resealed.ok());
  EXPECT_TRUE(kek->SealedUnderCurrent(*resealed));
  EXPECT_EQ(*kek->Open(*resealed, aad), plain);
}

TEST(KekTest, PreviousKekOpensUntilResealed) {
  auto old_kek = Kek::FromMaterial(std::string(64, '1'), "old");
  auto new_kek = Kek::FromMaterial(std::string(64, '2'), "new");
  std::string sealed = old_kek->Seal("k", "aad");
  EXPECT_FALSE(new_kek->Open(sealed, "aad").ok());
  Kek ring = *new_kek;
  ring.SetPrevious(*old_kek);
  EXPECT_EQ(*ring.Open(sealed, "aad"), "k");
  EXPECT_FALSE(ring.SealedUnderCurrent(sealed));
  std::string resealed = *ring.Reseal(sealed, "aad");
  EXPECT_TRUE(ring.SealedUnderCurrent(resealed));
  EXPECT_EQ(*new_kek->Open(resealed, "aad"), "k");
  EXPECT_FALSE(old_kek->Open(resealed, "aad").ok());
}

class KekStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_.path());
    config_.key_type = KeyType::kEcdsaP256;
  }
  Result<std::unique_ptr<KeyServiceImpl>> Open(const KeyServiceConfig& config) {
    return KeyServiceImpl::Open(config, {"example.com"}, registry_, clock_);
  }
  std::string Write(const std::string& name, const std::string& data, mode_t mode = 0600) {
    std::string path = testing::WriteFile(dir_.path() / name, data);
    ::chmod(path.c_str(), mode);
    return path;
  }
  TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  SystemClock clock_;
};

TEST_F(KekStoreTest, KekFileReadableByOthersIsRefused) {
  config_.kek_create = false;
  config_.kek_file = Write("kek", std::string(64, 'a'), 0644);
  auto r = Open(config_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("mode 0644"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("chmod 600 " + config_.kek_file), std::string::npos);
  ::chmod(config_.kek_file.c_str(), 0640);  // group-readable is as bad
  EXPECT_FALSE(Open(config_).ok());
  ::chmod(config_.kek_file.c_str(), 0400);
  EXPECT_TRUE(Open(config_).ok());
  // A created KEK file is private from the start.
  auto created = config_;
  created.kek_file = (dir_.path() / "new-kek").string();
  created.kek_create = true;
  created.store_path = (dir_.path() / "other-store").string();
  ASSERT_TRUE(Open(created).ok());
  struct stat st {};
  ASSERT_EQ(::stat(created.kek_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KekStoreTest, PassphraseThroughArgon2idWithStoredParameters) {
  config_.kek_create = false;
  config_.kek_format = "passphrase";
  config_.kek_file = Write("passphrase", "correct horse battery staple\n");
  {
    auto ks = Open(config_);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ASSERT_TRUE((*ks)->PutUsers({User{"alice@example.com", true, ""}}).ok());
    ASSERT_TRUE((*ks)->GetSigningIdentity("alice@example.com").ok());
  }
  {
    auto store = KeyStore::Open(config_.store_path);
    ASSERT_TRUE(store.ok());
    auto raw = (*store)->GetMeta("kek_kdf");
    ASSERT_TRUE(raw.ok() && raw->has_value()) << "parameters stored beside the check value";
    store::StoredKdf kdf;
    ASSERT_TRUE(kdf.ParseFromString(**raw));
    EXPECT_EQ(kdf.algorithm(), "argon2id");
    EXPECT_EQ(kdf.salt().size(), 16u);
    EXPECT_EQ(kdf.memory_kib(), KdfParams{}.memory_kib);
  }
  auto again = Open(config_);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ((*again)->GetDecryptionKeys("alice@example.com")->size(), 1u);
  again->reset();
  Write("passphrase", "correct horse battery stapler\n");
  auto wrong = Open(config_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("does not match the key store"), std::string::npos);
  Write("passphrase", "short\n");
  auto short_one = Open(config_);
  ASSERT_FALSE(short_one.ok());
  EXPECT_NE(short_one.error().message.find("at least 12 characters"), std::string::npos);
}

// Opens the store with KEK files by name ("" = not configured).
KeyServiceConfig WithKeks(KeyServiceConfig c, const std::filesystem::path& dir,
                          const std::string& current, const std::string& previous) {
  c.kek_create = false;
  c.kek_file = (dir / current).string();
  c.kek_previous_file = previous.empty() ? "" : (dir / previous).string();
  c.kek_previous_env.clear();
  return c;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The private keys of every user, to compare after the rotation.
std::map<std::string, std::string> AllKeys(KeyServiceImpl& ks, int users) {
  std::map<std::string, std::string> out;
  for (int i = 0; i < users; ++i) {
    std::string addr = "user" + std::to_string(i) + "@example.com";
    auto keys = ks.GetDecryptionKeys(addr);
    EXPECT_TRUE(keys.ok()) << addr << ": " << keys.error().ToString();
    if (keys.ok() && keys->size() == 1) out[addr] = (*keys)[0].private_key_der;
  }
  return out;
}

TEST_F(KekStoreTest, KekRotationSurvivesSigkillMidway) {
  const int kUsers = 40;
  const int kPauseAt = 15;
  ASSERT_TRUE(Kek::CreateFile((dir_.path() / "kek_a").string()).ok());
  std::map<std::string, std::string> before;
  {
    auto ks = Open(WithKeks(config_, dir_.path(), "kek_a", ""));
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    for (int i = 0; i < kUsers; ++i) {
      std::string addr = "user" + std::to_string(i) + "@example.com";
      ASSERT_TRUE((*ks)->PutUsers({User{addr, true, ""}}).ok());
      ASSERT_TRUE((*ks)->GetSigningIdentity(addr).ok());
    }
    before = AllKeys(**ks, kUsers);
    ASSERT_EQ(before.size(), static_cast<size_t>(kUsers));
  }
  ASSERT_TRUE(Kek::CreateFile((dir_.path() / "kek_b").string()).ok());

  // The rotation, in another process, killed after kPauseAt re-sealed keys.
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    execl(KEK_ROTATE_CHILD, KEK_ROTATE_CHILD, dir_.path().c_str(), std::to_string(kPauseAt).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  // Log lines come first; wait for the child's "paused".
  std::string line, all;
  char c;
  while (line != "paused" && read(out[0], &c, 1) == 1) {
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    all += line + "\n";
    line.clear();
  }
  close(out[0]);
  ASSERT_EQ(line, "paused") << all;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  // Half rotated: with both KEKs every key opens, unchanged.
  {
    auto ks = Open(WithKeks(config_, dir_.path(), "kek_b", "kek_a"));
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    EXPECT_EQ(AllKeys(**ks, kUsers), before);
  }
  // Only the new KEK before the rotation completed: refused, saying what to do.
  auto only_new = Open(WithKeks(config_, dir_.path(), "kek_b", ""));
  ASSERT_FALSE(only_new.ok());
  EXPECT_NE(only_new.error().message.find("kek rotate"), std::string::npos)
      << only_new.error().message;
  // Run again to completion: the rest is re-sealed.
  {
    auto ks = Open(WithKeks(config_, dir_.path(), "kek_b", "kek_a"));
    ASSERT_TRUE(ks.ok());
    auto r = (*ks)->RotateKek();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->already_current, static_cast<uint32_t>(kPauseAt));
    EXPECT_EQ(r->resealed, static_cast<uint32_t>(kUsers - kPauseAt + 2))
        << "the remaining user keys, the S/MIME CA and the internal CA";
    EXPECT_EQ(r->kek_id, Kek::FromMaterial(ReadAll(dir_.path() / "kek_b"), "b")->id());
  }
  // Done: the new KEK alone opens everything, the old one nothing.
  {
    auto ks = Open(WithKeks(config_, dir_.path(), "kek_b", ""));
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    EXPECT_EQ(AllKeys(**ks, kUsers), before);
    ASSERT_TRUE((*ks)->PutUsers({User{"new@example.com", true, ""}}).ok());
    EXPECT_TRUE((*ks)->GetSigningIdentity("new@example.com").ok()) << "the CA still issues";
  }
  auto only_old = Open(WithKeks(config_, dir_.path(), "kek_a", ""));
  ASSERT_FALSE(only_old.ok());
  EXPECT_EQ(only_old.error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace sg::keyservice
