#include "keyservice/credentials_files.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "keyservice/keyservice_x509.h"
#include "keyservice/rpc_roles.h"

namespace sg::keyservice {
namespace {

bool Exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

Result<std::string> ReadText(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, what + " " + path + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFileAtomically(const std::filesystem::path& path, const std::string& data) {
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kIoError, "cannot create " + tmp + ": " + strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return MakeError(ErrorCode::kIoError, "cannot write " + path.string() + ": " + strerror(ok ? errno : err));
  }
  return OkStatus();
}

}  // namespace

Result<ClientCredentials> CredentialsFromDir(const std::string& dir, const std::string& fix) {
  std::filesystem::path d(dir);
  ClientCredentials c;
  if (Exists(d / "cert.pem") || !Exists(d / "tls.crt")) {
    c.cert_file = (d / "cert.pem").string();
    c.key_file = (d / "key.pem").string();
    c.ca_file = (d / "ca.pem").string();
  } else {
    c.cert_file = (d / "tls.crt").string();
    c.key_file = (d / "tls.key").string();
    c.ca_file = (d / "ca.crt").string();
  }
  for (const auto& f : {c.cert_file, c.key_file, c.ca_file}) {
    if (!Exists(f)) return MakeError(ErrorCode::kNotFound, f + " not found; " + fix);
  }
  return c;
}

Status CheckPemIdentity(const std::string& cert_pem, const std::string& key_pem,
                        const std::string& ca_pem, const std::string& cert_name,
                        const std::string& key_name, const std::string& ca_name) {
  auto read_cert = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    OpenSslError();
    return x;
  };
  X509Ptr x = read_cert(cert_pem);
  if (!x) return MakeError(ErrorCode::kInvalidArgument, cert_name + ": no PEM certificate");
  if (!read_cert(ca_pem)) return MakeError(ErrorCode::kInvalidArgument, ca_name + ": no PEM certificate");
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  PkeyPtr k(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  OpenSslError();
  if (!k) return MakeError(ErrorCode::kInvalidArgument, key_name + ": no PEM private key");
  if (!CertificateMatchesKey(x.get(), k.get())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     key_name + " does not belong to the certificate in " + cert_name);
  }
  return OkStatus();
}

Status CheckClientCredentials(const ClientCredentials& c) {
  if (!c.from_files()) {
    return CheckPemIdentity(c.cert_pem, c.key_pem, c.ca_pem, "client certificate", "client key",
                            "CA certificate");
  }
  SG_ASSIGN_OR_RETURN(std::string cert, ReadText(c.cert_file, "client certificate"));
  SG_ASSIGN_OR_RETURN(std::string key, ReadText(c.key_file, "client key"));
  SG_ASSIGN_OR_RETURN(std::string ca, ReadText(c.ca_file, "CA certificate"));
  Status st = CheckPemIdentity(cert, key, ca, c.cert_file, c.key_file, c.ca_file);
  OPENSSL_cleanse(key.data(), key.size());
  return st;
}

Status WriteCredentialsDir(const std::string& dir, const std::string& cert_pem,
                           const std::string& key_pem, const std::string& ca_pem) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(ErrorCode::kIoError, "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return MakeError(ErrorCode::kIoError, "cannot chmod 0700 " + dir + ": " + strerror(errno));
  }
  std::filesystem::path d(dir);
  // The key first: a watcher that sees the new certificate finds its key.
  SG_RETURN_IF_ERROR(WriteFileAtomically(d / "key.pem", key_pem));
  SG_RETURN_IF_ERROR(WriteFileAtomically(d / "cert.pem", cert_pem));
  SG_RETURN_IF_ERROR(WriteFileAtomically(d / "ca.pem", ca_pem));
  return OkStatus();
}

Result<CredentialKey> GenerateCredentialKey() {
  SG_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey(KeyType::kEcdsaP256));
  CredentialKey out;
  SG_ASSIGN_OR_RETURN(out.public_key_der, PublicKeyDer(key.get()));
  out.key_pem = PrivateKeyToPem(key.get());
  return out;
}

Result<CertificateFacts> InspectCertificatePem(const std::string& pem, const std::string& trust_domain) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!x) {
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument, "not a PEM certificate");
  }
  CertificateFacts facts;
  facts.subject = SubjectText(x.get());
  facts.not_after = NotAfter(x.get());
  std::vector<std::string> uris;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(s->data), static_cast<size_t>(s->length));
  }
  GENERAL_NAMES_free(sans);
  facts.role = RoleFromUris(uris, trust_domain);
  return facts;
}

}  // namespace sg::keyservice
