// The baseline: OpenSSL's high-level CMS functions used the naive way, as
// most S/MIME code does it: key and certificates parsed from PEM for every
// message, trust store rebuilt per message, implicit algorithm fetches
// (EVP_sha256(), EVP_aes_256_cbc()), SMIME_write_CMS / SMIME_read_CMS.
#pragma once

#include <string>

namespace sg::smime::bench {

struct NaivePem {
  std::string signer_cert;
  std::string signer_key;
  std::string chain;
  std::string recipient_cert;
  std::string recipient_key;
  std::string root;
};

std::string NaiveSign(const NaivePem& pem, const std::string& entity);
std::string NaiveEncrypt(const NaivePem& pem, const std::string& entity);
std::string NaiveSignEncrypt(const NaivePem& pem, const std::string& entity);
// Decrypts with the recipient key, then verifies the signed result; returns
// false if either step fails.
bool NaiveDecryptVerify(const NaivePem& pem, const std::string& smime);

}  // namespace sg::smime::bench
