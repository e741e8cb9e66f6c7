#include "tests/workers/smime/smime_fuzz_pki.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace sg::smime::testing {
namespace {

std::string ReadPki(const std::string& name) {
  std::string path = std::string(SG_FUZZ_PKI_DIR) + "/" + name;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "fuzz PKI: cannot read %s\n", path.c_str());
    std::abort();
  }
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "fuzz PKI: %s: %s\n", what, r.error().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

KeyPair LoadPair(const std::string& stem) {
  return KeyPair{Must(ParsePrivateKey(ReadPki(stem + ".key")), "key"),
                 Must(ParseCertificate(ReadPki(stem + ".pem")), "certificate")};
}

FuzzPki* Load() {
  auto* pki = new FuzzPki{
      Must(ParseCertificate(ReadPki("root.pem")), "root"), LoadPair("alice"), LoadPair("bob"), {}};
  TrustStoreOptions o;
  o.anchors.push_back(pki->root);
  pki->trust = Must(TrustStore::Create(o), "trust store");
  return pki;
}

}  // namespace

const FuzzPki& GetFuzzPki() {
  static const FuzzPki* pki = Load();
  return *pki;
}

}  // namespace sg::smime::testing
