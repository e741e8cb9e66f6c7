// Kek::Load and the KEK file helpers: where the key-encryption key comes
// from (file or environment, raw key or passphrase) and the file checks.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/mail/base64.h"
#include "keyservice/kek.h"
#include "keyservice/kek_check.h"

namespace sg::keyservice {
namespace {

constexpr const char* kMetaKdf = "kek_kdf";

// Key material or a passphrase, and where it came from (for messages).
struct Material {
  std::string text;
  std::string source;
  ~Material() { OPENSSL_cleanse(text.data(), text.size()); }
};

Result<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  SG_RETURN_IF_ERROR(Kek::CheckFileMode(path, what));
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIoError, what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Material> ReadCurrent(const KeyServiceConfig& config) {
  if (!config.kek_file.empty()) {
    struct stat st {};
    if (::stat(config.kek_file.c_str(), &st) != 0) {
      if (!config.kek_create) {
        return MakeError(ErrorCode::kNotFound,
                         "keyservice.kek_file: " + config.kek_file +
                             " not found; the keyservice cannot start without its key-encryption "
                             "key (set kek_create: true to create one on a new installation)");
      }
      SG_RETURN_IF_ERROR(Kek::CreateFile(config.kek_file));
    }
    Material m;
    m.source = "keyservice.kek_file " + config.kek_file;
    SG_ASSIGN_OR_RETURN(m.text, ReadSecretFile(config.kek_file, "keyservice.kek_file"));
    return m;
  }
  const char* value = std::getenv(config.kek_env.c_str());
  if (value == nullptr || *value == '\0') {
    return MakeError(ErrorCode::kNotFound,
                     "keyservice: no key-encryption key: set keyservice.kek_file or the "
                     "environment variable " + config.kek_env);
  }
  Material m;
  m.text = value;
  m.source = "environment variable " + config.kek_env;
  return m;
}

Result<std::optional<Material>> ReadPrevious(const KeyServiceConfig& config) {
  std::optional<Material> m;
  if (!config.kek_previous_file.empty()) {
    m.emplace();
    m->source = "keyservice.kek_previous_file " + config.kek_previous_file;
    SG_ASSIGN_OR_RETURN(m->text,
                        ReadSecretFile(config.kek_previous_file, "keyservice.kek_previous_file"));
    return m;
  }
  const char* value =
      config.kek_previous_env.empty() ? nullptr : std::getenv(config.kek_previous_env.c_str());
  if (value != nullptr && *value != '\0') {
    m.emplace();
    m->text = value;
    m->source = "environment variable " + config.kek_previous_env;
  }
  return m;
}

// The Argon2id parameters of this store, created with a random salt on
// first use.
Result<store::StoredKdf> StoreKdf(KeyStore& store) {
  store::StoredKdf kdf;
  SG_ASSIGN_OR_RETURN(auto raw, store.GetMeta(kMetaKdf));
  if (raw) {
    if (!kdf.ParseFromString(*raw)) {
      return MakeError(ErrorCode::kCorruption, "keyservice store: the kek_kdf record is broken");
    }
    return kdf;
  }
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof(salt)) != 1) return MakeError(ErrorCode::kInternal, "RAND_bytes failed");
  KdfParams defaults;
  kdf.set_algorithm("argon2id");
  kdf.set_salt(std::string(reinterpret_cast<char*>(salt), sizeof(salt)));
  kdf.set_time_cost(defaults.time_cost);
  kdf.set_memory_kib(defaults.memory_kib);
  kdf.set_parallelism(defaults.parallelism);
  SG_RETURN_IF_ERROR(store.PutMeta(kMetaKdf, kdf.SerializeAsString()));
  return kdf;
}

Result<Kek> Derive(const Material& m, const std::string& format, KeyStore& store) {
  if (format == "passphrase") {
    SG_ASSIGN_OR_RETURN(store::StoredKdf kdf, StoreKdf(store));
    return Kek::FromPassphrase(m.text, kdf, m.source);
  }
  return Kek::FromMaterial(m.text, m.source);
}

// A KEK's material in `format`, checked without a store (no Argon2 run).
Status CheckMaterial(const Material& m, const std::string& format) {
  if (format == "passphrase") {
    std::string_view text = m.text;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (text.size() < 12) {
      return MakeError(ErrorCode::kInvalidArgument,
                       m.source + ": a KEK passphrase needs at least 12 characters");
    }
    return OkStatus();
  }
  auto kek = Kek::FromMaterial(m.text, m.source);
  if (!kek.ok()) return kek.error();
  return OkStatus();
}

}  // namespace

Status CheckKekSource(const KeyServiceConfig& config) {
  struct stat st {};
  if (!config.kek_file.empty() && ::stat(config.kek_file.c_str(), &st) != 0 &&
      config.kek_create) {
    // Created at the first start.
  } else {
    SG_ASSIGN_OR_RETURN(Material current, ReadCurrent(config));
    SG_RETURN_IF_ERROR(CheckMaterial(current, config.kek_format));
  }
  SG_ASSIGN_OR_RETURN(auto previous, ReadPrevious(config));
  if (previous) {
    const std::string& format =
        config.kek_previous_format.empty() ? config.kek_format : config.kek_previous_format;
    SG_RETURN_IF_ERROR(CheckMaterial(*previous, format));
  }
  return OkStatus();
}

Status Kek::CheckFileMode(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kNotFound, what + ": " + path + " not found");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return MakeError(ErrorCode::kPermissionDenied,
                     what + ": " + path + " may be read by group or others (mode " + mode +
                         "); a key-encryption key must be private to its owner: run `chmod 600 " +
                         path + "` (in Kubernetes: defaultMode: 0400 on the Secret volume)");
  }
  return OkStatus();
}

Status Kek::CreateFile(const std::string& path) {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof(key)) != 1) return MakeError(ErrorCode::kInternal, "RAND_bytes failed");
  std::string text =
      mail::Base64EncodeOneLine(std::string_view(reinterpret_cast<char*>(key), sizeof(key)));
  OPENSSL_cleanse(key, sizeof(key));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kIoError, "keyservice.kek_file: cannot create " + path);
  }
  text += "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) return MakeError(ErrorCode::kIoError, "keyservice.kek_file: cannot write " + path);
  return OkStatus();
}

Result<Kek> Kek::Load(const KeyServiceConfig& config, KeyStore& store) {
  SG_ASSIGN_OR_RETURN(Material current, ReadCurrent(config));
  SG_ASSIGN_OR_RETURN(std::optional<Material> previous, ReadPrevious(config));
  SG_ASSIGN_OR_RETURN(Kek kek, Derive(current, config.kek_format, store));
  if (previous) {
    std::string format =
        config.kek_previous_format.empty() ? config.kek_format : config.kek_previous_format;
    SG_ASSIGN_OR_RETURN(Kek old, Derive(*previous, format, store));
    if (old.id() == kek.id()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       previous->source + " is the same key as " + current.source +
                           "; the previous KEK is the one being rotated away from");
    }
    kek.SetPrevious(old);
  }
  return kek;
}

}  // namespace sg::keyservice
