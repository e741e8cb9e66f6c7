#include "ingress/ingress_tls_selfsigned.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "ingress/ingress_tls.h"

namespace sg::ingress {
namespace {

constexpr int64_t kDay = 24 * 3600;
constexpr int64_t kValidity = 825 * kDay;
constexpr int64_t kRenewBefore = 30 * kDay;

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// Whether `cert_file` is a certificate for `hostname` valid for 30 more days.
bool StillGood(const std::string& cert_file, const std::string& key_file,
               const std::string& hostname, int64_t now) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (f == nullptr) return false;
  X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr), X509_free);
  std::fclose(f);
  if (!cert || access(key_file.c_str(), R_OK) != 0) return false;
  if (X509_check_host(cert.get(), hostname.c_str(), hostname.size(), 0, nullptr) != 1) {
    return false;
  }
  time_t until = static_cast<time_t>(now + kRenewBefore);
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &until) > 0;
}

bool AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<X509Ptr> MakeCertificate(EVP_PKEY* key, const std::string& hostname, int64_t now) {
  X509Ptr cert(X509_new(), X509_free);
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof serial) != 1) {
    return MakeError(ErrorCode::kInternal, "self-signed certificate: " + OpenSslErrors());
  }
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  time_t t = static_cast<time_t>(now);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &t);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(kValidity / kDay), 0, &t);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key);
  const std::string san = "DNS:" + hostname;
  bool ok = AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
            AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature") &&
            AddExtension(cert.get(), NID_ext_key_usage, "serverAuth") &&
            AddExtension(cert.get(), NID_subject_alt_name, san.c_str()) &&
            X509_sign(cert.get(), key, EVP_sha256()) > 0;
  if (!ok) return MakeError(ErrorCode::kInternal, "self-signed certificate: " + OpenSslErrors());
  return cert;
}

// Writes `data` to `path` with `mode`, through a temporary file and rename.
Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return MakeError(ErrorCode::kIoError, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  bool ok =
      write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return MakeError(ErrorCode::kIoError, "cannot write " + path + ": " + std::strerror(errno));
  }
  return OkStatus();
}

template <typename F>
std::string Pem(F write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

}  // namespace

Result<ListenerTlsConfig> EnsureSelfSignedCertificate(const std::string& dir,
                                                      const std::string& hostname,
                                                      int64_t now_unix) {
  ListenerTlsConfig files;
  files.cert_file = dir + "/selfsigned.pem";
  files.key_file = dir + "/selfsigned.key";
  if (StillGood(files.cert_file, files.key_file, hostname, now_unix)) return files;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || chmod(dir.c_str(), 0700) != 0) {
    return MakeError(ErrorCode::kIoError, "cannot create " + dir +
                                              " for the self-signed STARTTLS "
                                              "certificate: " +
                                              (ec ? ec.message() : std::strerror(errno)));
  }
  PkeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) return MakeError(ErrorCode::kInternal, "self-signed key: " + OpenSslErrors());
  SG_ASSIGN_OR_RETURN(X509Ptr cert, MakeCertificate(key.get(), hostname, now_unix));
  std::string key_pem = Pem([&](BIO* b) {
    PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  std::string cert_pem = Pem([&](BIO* b) { PEM_write_bio_X509(b, cert.get()); });
  // The key first: a certificate never names a key that is not there yet.
  SG_RETURN_IF_ERROR(WriteFile(files.key_file, key_pem, 0600));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  SG_RETURN_IF_ERROR(WriteFile(files.cert_file, cert_pem, 0644));
  return files;
}

}  // namespace sg::ingress
