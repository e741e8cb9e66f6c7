// cmp_test_ca: a small CMP CA for end-to-end tests, which, unlike OpenSSL
// 3.0's mock server (`openssl cmp -port`, which answers every request with
// one pre-made certificate), certifies the key each request carries, so a
// gateway's own first certificate can be issued (tests/integration/
// ca_down_test.py). Built on OpenSSL's CMP server API (OSSL_CMP_SRV_CTX:
// protection, transactions and certConf are OpenSSL's); this file adds the
// certificate itself and a minimal HTTP/1.0 loop (one request per
// connection, as the CMP client sends them).
//
//   cmp_test_ca init DIR         makes root.pem, issuing.pem, issuing_key.pem
//                                and secret (MAC protection, reference
//                                "gateway-1") in DIR
//   cmp_test_ca serve DIR PORT   answers CMP over HTTP on 127.0.0.1:PORT
//                                until killed; prints "listening PORT"
//
// Test code: no hardening beyond bounds on what it reads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace {

constexpr const char* kReference = "gateway-1";
constexpr const char* kSecret = "test shared secret";

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "cmp_test_ca: " << what << std::endl;
  std::exit(1);
}

EVP_PKEY* NewKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) Die("EVP_EC_gen");
  return k;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) Die(std::string("extension ") + value);
  X509_EXTENSION_free(ext);
}

void SetSerial(X509* cert) {
  std::array<unsigned char, 8> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) Die("RAND_bytes");
  uint64_t v = 0;
  for (unsigned char b : bytes) v = (v << 8) | b;
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), v >> 1);
}

X509* MakeCaCert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509* c = X509_new();
  X509_set_version(c, 2);
  SetSerial(c);
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1,
                             -1, 0);
  X509_set_subject_name(c, name);
  X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_NAME_free(name);
  X509_set_pubkey(c, key);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 3650L * 86400);
  AddExt(c, issuer, NID_basic_constraints, issuer != nullptr ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE");
  AddExt(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(c, issuer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExt(c, issuer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(c, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) Die("X509_sign");
  return c;
}

void WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  BIO* b = BIO_new_file(path.c_str(), "w");
  if (b == nullptr) Die("cannot write " + path);
  bool ok = cert != nullptr ? PEM_write_bio_X509(b, cert) == 1
                            : PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  BIO_free(b);
  if (!ok) Die("cannot write " + path);
}

void Init(const std::string& dir) {
  EVP_PKEY* root_key = NewKey();
  EVP_PKEY* issuing_key = NewKey();
  X509* root = MakeCaCert("cmp_test_ca Root", root_key, nullptr, nullptr);
  X509* issuing = MakeCaCert("cmp_test_ca Issuing CA", issuing_key, root, root_key);
  WritePem(dir + "/root.pem", root, nullptr);
  WritePem(dir + "/issuing.pem", issuing, nullptr);
  WritePem(dir + "/issuing_key.pem", nullptr, issuing_key);
  std::ofstream secret(dir + "/secret");
  secret << kSecret << "\n";
  secret.close();
  if (!secret) Die("cannot write " + dir + "/secret");
  X509_free(root);
  X509_free(issuing);
  EVP_PKEY_free(root_key);
  EVP_PKEY_free(issuing_key);
}

// The template's publicKey ([6] IMPLICIT SubjectPublicKeyInfo, RFC 4211):
// OpenSSL 3.0 has no getter, so the DER of the template is walked with
// ASN1_get_object and the field re-tagged as a SEQUENCE.
EVP_PKEY* TemplatePublicKey(const OSSL_CRMF_CERTTEMPLATE* tmpl) {
  unsigned char* der = nullptr;
  const int n = i2d_OSSL_CRMF_CERTTEMPLATE(tmpl, &der);
  if (n <= 0) return nullptr;
  const unsigned char* p = der;
  long len = 0;
  int tag = 0;
  int cls = 0;
  EVP_PKEY* out = nullptr;
  if ((ASN1_get_object(&p, &len, &tag, &cls, n) & 0x80) == 0) {
    const unsigned char* end = p + len;
    while (p < end && out == nullptr) {
      if ((ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80) != 0) break;
      if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 6) {
        std::string spki(1, '\x30');
        if (len < 128) {
          spki.push_back(static_cast<char>(len));
        } else if (len < 256) {
          spki += {'\x81', static_cast<char>(len)};
        } else {
          spki += {'\x82', static_cast<char>(len >> 8), static_cast<char>(len & 0xff)};
        }
        spki.append(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
        const auto* q = reinterpret_cast<const unsigned char*>(spki.data());
        out = d2i_PUBKEY(nullptr, &q, static_cast<long>(spki.size()));
      }
      p += len;
    }
  }
  OPENSSL_free(der);
  return out;
}

struct Ca {
  X509* issuing = nullptr;
  EVP_PKEY* key = nullptr;
};

OSSL_CMP_PKISI* CertRequest(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG* /*req*/, int /*id*/,
                            const OSSL_CRMF_MSG* crm, const X509_REQ* /*p10cr*/, X509** cert_out,
                            STACK_OF(X509) * *chain_out, STACK_OF(X509) * *ca_pubs) {
  auto* ca = static_cast<Ca*>(OSSL_CMP_SRV_CTX_get0_custom_ctx(srv));
  const OSSL_CRMF_CERTTEMPLATE* tmpl = crm != nullptr ? OSSL_CRMF_MSG_get0_tmpl(crm) : nullptr;
  EVP_PKEY* pub = tmpl != nullptr ? TemplatePublicKey(tmpl) : nullptr;
  if (pub == nullptr) {
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate,
                                   "no public key in the template");
  }
  X509* c = X509_new();
  X509_set_version(c, 2);
  SetSerial(c);
  X509_set_issuer_name(c, X509_get_subject_name(ca->issuing));
  const X509_NAME* subject = OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl);
  if (subject != nullptr) X509_set_subject_name(c, subject);
  X509_set_pubkey(c, pub);
  EVP_PKEY_free(pub);
  X509_gmtime_adj(X509_getm_notBefore(c), -60);
  X509_gmtime_adj(X509_getm_notAfter(c), 365L * 86400);
  X509_EXTENSIONS* exts = OSSL_CRMF_CERTTEMPLATE_get0_extensions(tmpl);
  for (int i = 0; exts != nullptr && i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_add_ext(c, sk_X509_EXTENSION_value(exts, i), -1);
  }
  AddExt(c, ca->issuing, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(c, ca->key, EVP_sha256()) == 0) Die("X509_sign leaf");
  *cert_out = c;
  *chain_out = sk_X509_new_null();
  X509_up_ref(ca->issuing);
  sk_X509_push(*chain_out, ca->issuing);
  *ca_pubs = nullptr;
  std::cout << "issued" << std::endl;
  return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, nullptr);
}

int CertConf(OSSL_CMP_SRV_CTX*, const OSSL_CMP_MSG*, int, const ASN1_OCTET_STRING*,
             const OSSL_CMP_PKISI*) {
  return 1;
}

// One HTTP request (headers, then Content-Length bytes) -> its body.
bool ReadRequest(int fd, std::string& body) {
  std::string in;
  std::array<char, 4096> buf{};
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0 || in.size() > 65536) return false;
    in.append(buf.data(), static_cast<size_t>(r));
    header_end = in.find("\r\n\r\n");
  }
  std::string headers = in.substr(0, header_end);
  std::transform(headers.begin(), headers.end(), headers.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  size_t cl = headers.find("content-length:");
  if (cl == std::string::npos) return false;
  const size_t length = std::strtoul(headers.c_str() + cl + 15, nullptr, 10);
  if (length > 1 << 20) return false;
  body = in.substr(header_end + 4);
  while (body.size() < length) {
    ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0) return false;
    body.append(buf.data(), static_cast<size_t>(r));
  }
  return true;
}

void Answer(int fd, OSSL_CMP_SRV_CTX* srv) {
  std::string body;
  if (!ReadRequest(fd, body)) return;
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  OSSL_CMP_MSG* req = d2i_OSSL_CMP_MSG(nullptr, &p, static_cast<long>(body.size()));
  if (req == nullptr) return;
  OSSL_CMP_MSG* rsp = OSSL_CMP_SRV_process_request(srv, req);
  OSSL_CMP_MSG_free(req);
  if (rsp == nullptr) return;
  unsigned char* der = nullptr;
  const int n = i2d_OSSL_CMP_MSG(rsp, &der);
  OSSL_CMP_MSG_free(rsp);
  if (n <= 0) return;
  std::string out = "HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: " +
                    std::to_string(n) + "\r\nConnection: close\r\n\r\n";
  out.append(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  for (size_t sent = 0; sent < out.size();) {
    ssize_t w = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (w <= 0) return;
    sent += static_cast<size_t>(w);
  }
}

X509* ReadCert(const std::string& path) {
  BIO* b = BIO_new_file(path.c_str(), "r");
  if (b == nullptr) Die("cannot read " + path);
  X509* c = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (c == nullptr) Die("not a certificate: " + path);
  return c;
}

void Serve(const std::string& dir, int port) {
  Ca ca;
  ca.issuing = ReadCert(dir + "/issuing.pem");
  BIO* b = BIO_new_file((dir + "/issuing_key.pem").c_str(), "r");
  if (b == nullptr) Die("cannot read issuing_key.pem");
  ca.key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (ca.key == nullptr) Die("not a key: issuing_key.pem");

  OSSL_CMP_SRV_CTX* srv = OSSL_CMP_SRV_CTX_new(nullptr, nullptr);
  OSSL_CMP_CTX* ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
  const auto* ref = reinterpret_cast<const unsigned char*>(kReference);
  const auto* sec = reinterpret_cast<const unsigned char*>(kSecret);
  if (OSSL_CMP_SRV_CTX_init(srv, &ca, CertRequest, nullptr, nullptr, nullptr, CertConf, nullptr) != 1 ||
      OSSL_CMP_CTX_set1_cert(ctx, ca.issuing) != 1 || OSSL_CMP_CTX_set1_pkey(ctx, ca.key) != 1 ||
      OSSL_CMP_CTX_set1_referenceValue(ctx, ref, static_cast<int>(std::string(kReference).size())) != 1 ||
      OSSL_CMP_CTX_set1_secretValue(ctx, sec, static_cast<int>(std::string(kSecret).size())) != 1) {
    Die("CMP server context");
  }
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(s, 16) != 0) {
    Die("cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  std::cout << "listening " << port << std::endl;
  while (true) {
    int c = ::accept(s, nullptr, nullptr);
    if (c < 0) continue;
    Answer(c, srv);
    ::close(c);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "init" && argc == 3) {
    Init(argv[2]);
    return 0;
  }
  if (mode == "serve" && argc == 4) {
    char* end = nullptr;
    const long port = std::strtol(argv[3], &end, 10);
    if (end == argv[3] || *end != '\0' || port <= 0 || port > 65535) Die("bad port");
    Serve(argv[2], static_cast<int>(port));
    return 0;
  }
  std::cerr << "usage: cmp_test_ca init DIR | cmp_test_ca serve DIR PORT" << std::endl;
  return 2;
}
