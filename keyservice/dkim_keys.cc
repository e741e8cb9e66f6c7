#include "keyservice/dkim_keys.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/mail/base64.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

constexpr size_t kMaxCharacterString = 255;  // RFC 1035 3.3: one length octet
constexpr size_t kMaxSelector = 63;

bool LabelChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

Result<std::string> RawPublicKey(EVP_PKEY* key) {
  size_t len = 0;
  if (EVP_PKEY_get_raw_public_key(key, nullptr, &len) != 1) {
    return MakeError(ErrorCode::kInternal, "ed25519 public key: " + OpenSslError());
  }
  std::string raw(len, '\0');
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1) {
    return MakeError(ErrorCode::kInternal, "ed25519 public key: " + OpenSslError());
  }
  raw.resize(len);
  return raw;
}

}  // namespace

Result<std::string> ParseDkimAlgorithm(std::string_view text) {
  const std::string a = AsciiLower(text);
  if (a.empty() || a == "rsa") return std::string("rsa");
  if (a == "ed25519") return a;
  return MakeError(ErrorCode::kInvalidArgument,
                   "DKIM algorithm \"" + std::string(text) + "\": use rsa or ed25519");
}

Result<std::string> ParseDkimSelector(std::string_view text) {
  const std::string s = AsciiLower(text);
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "DKIM selector \"" + std::string(text) + "\": " +
                                                      why + " (letters, digits, '-' and dots)");
  };
  if (s.empty()) return bad("empty");
  if (s.size() > kMaxSelector) return bad("longer than 63 characters");
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string::npos) dot = s.size();
    std::string_view label(s.data() + start, dot - start);
    if (label.empty()) return bad("empty label");
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    for (char c : label) {
      if (!LabelChar(c)) return bad("character '" + std::string(1, c) + "' not allowed");
    }
    start = dot + 1;
  }
  return s;
}

Result<DkimKeyMaterial> GenerateDkimKey(const std::string& algorithm) {
  PkeyPtr key;
  if (algorithm == "rsa") {
    SG_ASSIGN_OR_RETURN(key, GenerateKey(KeyType::kRsa2048));
  } else if (algorithm == "ed25519") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) return MakeError(ErrorCode::kInternal, "ed25519 key generation: " + OpenSslError());
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "DKIM algorithm \"" + algorithm + "\"");
  }
  DkimKeyMaterial out;
  SG_ASSIGN_OR_RETURN(out.private_key_der, PrivateKeyToDer(key.get()));
  std::string pub;
  if (algorithm == "rsa") {
    SG_ASSIGN_OR_RETURN(pub, PublicKeyDer(key.get()));
  } else {
    SG_ASSIGN_OR_RETURN(pub, RawPublicKey(key.get()));
  }
  out.public_key = mail::Base64EncodeOneLine(pub);
  return out;
}

std::string DkimRecordName(const std::string& selector, const std::string& domain) {
  return selector + "._domainkey." + domain;
}

std::string DkimRecordValue(const std::string& algorithm, const std::string& public_key) {
  return "v=DKIM1; k=" + algorithm + "; p=" + public_key;
}

std::string DkimQuotedStrings(const std::string& value) {
  std::string out;
  for (size_t i = 0; i < value.size() || i == 0; i += kMaxCharacterString) {
    if (!out.empty()) out += ' ';
    out += '"';
    out += value.substr(i, kMaxCharacterString);  // the value holds no '"' or '\\'
    out += '"';
    if (value.empty()) break;
  }
  return out;
}

std::string DkimZoneLine(const std::string& name, const std::string& value) {
  return name + " IN TXT " + DkimQuotedStrings(value);
}

nlohmann::json DkimKeyJson(const DkimKeyInfo& k) {
  return {{"domain", k.domain},
          {"selector", k.selector},
          {"algorithm", k.algorithm},
          {"state", k.state},
          {"created_at", k.created_at},
          {"activated_at", k.activated_at},
          {"record_name", k.record_name},
          {"record_value", k.record_value},
          {"zone_line", DkimZoneLine(k.record_name, k.record_value)}};
}

}  // namespace sg::keyservice
