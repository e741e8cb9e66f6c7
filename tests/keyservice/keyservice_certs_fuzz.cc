// Fuzz target for certificate import and validation in the keyservice: the
// files an admin imports (`smimegatectl cert import`: import_files.h) and
// the certificates harvested from signed mail from the internet
// (trust_store.h: the checks of KeyServiceImpl::HarvestCertificate).
//
// Input: a certificate file (PEM bundle, text around PEM, or one DER
// certificate). The first certificate is validated for alice@example.com
// with the others as its chain, against the fuzz PKI's root. Properties:
//   - errors name the file; no call leaves an OpenSSL error on the queue;
//   - every DER block parses and re-encodes to itself;
//   - a certificate that passes the leaf checks names the address;
//   - a full validation is never kinder than the leaf checks alone;
//   - subjects and reasons (logged by the workers, shown by smimegatectl)
//     carry no control characters: certificates from the internet cannot
//     forge log lines.
#include <openssl/err.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "keyservice/import_files.h"
#include "keyservice/keyservice_x509.h"
#include "keyservice/trust_store.h"
#include "tests/support/fuzz_check.h"

namespace {

using namespace sg::keyservice;  // NOLINT: a test of this namespace

constexpr const char* kAddress = "alice@example.com";
const auto kNow = std::chrono::system_clock::from_time_t(1800000000);  // 2027-01-15

bool Printable(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

const TrustStore& Anchors() {
  static const TrustStore* store = [] {
    std::ifstream f(std::string(SG_FUZZ_PKI_DIR) + "/root.pem");
    std::string pem((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto der = ParseCertificateFile(pem, "root.pem");
    if (!der.ok()) {
      std::fprintf(stderr, "fuzz PKI root missing: %s\n", der.error().ToString().c_str());
      std::abort();
    }
    auto* s = new TrustStore();
    std::vector<TrustAnchor> anchors;
    for (auto& d : *der) anchors.push_back({std::move(d), kOriginAdmin});
    s->Replace(std::move(anchors));
    return s;
  }();
  return *store;
}

void CheckValidation(const std::vector<X509Ptr>& certs) {
  X509* leaf = certs.front().get();
  std::vector<X509Ptr> chain;
  for (size_t i = 1; i < certs.size(); ++i) {
    chain.push_back(X509Ptr(X509_dup(certs[i].get())));
  }
  Validation leaf_only = CheckLeaf(leaf, kAddress, kNow);
  SG_FUZZ_CHECK(Printable(leaf_only.reason));
  if (leaf_only.verdict == Verdict::kOk) {
    auto names = EmailAddresses(leaf);
    SG_FUZZ_CHECK(std::find(names.begin(), names.end(), kAddress) != names.end());
  }
  ValidationOptions options;
  options.address = kAddress;
  Validation full = Anchors().Validate(leaf, chain, options, kNow);
  SG_FUZZ_CHECK(Printable(full.reason));
  if (full.verdict == Verdict::kOk) SG_FUZZ_CHECK(leaf_only.verdict == Verdict::kOk);
  SG_FUZZ_CHECK(ERR_peek_error() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Anchors();
  ERR_clear_error();
  auto ders =
      ParseCertificateFile(std::string(reinterpret_cast<const char*>(data), size), "import.pem");
  SG_FUZZ_CHECK(ERR_peek_error() == 0);
  if (!ders.ok()) {
    SG_FUZZ_CHECK(ders.error().message.rfind("import.pem", 0) == 0);
    return 0;
  }
  SG_FUZZ_CHECK(!ders->empty());
  std::vector<X509Ptr> certs;
  for (const std::string& der : *ders) {
    auto cert = ParseCertificateDer(der);
    SG_FUZZ_CHECK(cert.ok());
    auto again = CertificateToDer(cert->get());
    SG_FUZZ_CHECK(again.ok());
    SG_FUZZ_CHECK_EQ(*again, der);
    SG_FUZZ_CHECK(Printable(SubjectText(cert->get())) && Printable(IssuerText(cert->get())));
    certs.push_back(std::move(*cert));
  }
  SG_FUZZ_CHECK(ERR_peek_error() == 0);
  CheckValidation(certs);
  return 0;
}
