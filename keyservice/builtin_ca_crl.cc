#include "keyservice/builtin_ca_crl.h"

#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <utility>

#include "keyservice/keyservice_x509.h"
#include "keyservice/x509_build.h"

namespace sg::keyservice {
namespace {

constexpr std::array<std::pair<const char*, int>, 8> kReasons = {{
    {"unspecified", 0},
    {"keyCompromise", 1},
    {"cACompromise", 2},
    {"affiliationChanged", 3},
    {"superseded", 4},
    {"cessationOfOperation", 5},
    {"privilegeWithdrawn", 9},
    {"aACompromise", 10},
}};

struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
struct TimeFree {
  void operator()(ASN1_TIME* t) const { ASN1_TIME_free(t); }
};
using TimePtr = std::unique_ptr<ASN1_TIME, TimeFree>;

Status AddEntry(X509_CRL* crl, const ::smimegate::keyservice::store::StoredRevocation& e) {
  X509_REVOKED* r = X509_REVOKED_new();
  const auto* p = reinterpret_cast<const unsigned char*>(e.serial().data());
  BIGNUM* bn = BN_bin2bn(p, static_cast<int>(e.serial().size()), nullptr);
  ASN1_INTEGER* serial = bn != nullptr ? BN_to_ASN1_INTEGER(bn, nullptr) : nullptr;
  BN_free(bn);
  TimePtr at(ASN1_TIME_set(nullptr, static_cast<time_t>(e.revoked_at())));
  ASN1_ENUMERATED* code = ASN1_ENUMERATED_new();
  bool ok = r != nullptr && serial != nullptr && at && code != nullptr &&
            X509_REVOKED_set_serialNumber(r, serial) == 1 &&
            X509_REVOKED_set_revocationDate(r, at.get()) == 1 &&
            ASN1_ENUMERATED_set(code, e.reason()) == 1 &&
            (e.reason() == 0 || X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0) == 1) &&
            X509_CRL_add0_revoked(crl, r) == 1;
  ASN1_INTEGER_free(serial);
  ASN1_ENUMERATED_free(code);
  if (!ok) {
    X509_REVOKED_free(r);  // not added
    return MakeError(ErrorCode::kInternal, "CRL entry: " + OpenSslError());
  }
  return OkStatus();
}

}  // namespace

Result<int> CrlReasonCode(std::string_view name) {
  std::string names;
  for (const auto& [n, code] : kReasons) {
    if (name == n) return code;
    names += names.empty() ? n : std::string(", ") + n;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown revocation reason \"" + std::string(name) + "\" (one of " + names + ")");
}

std::string CrlReasonName(int code) {
  for (const auto& [n, c] : kReasons) {
    if (c == code) return n;
  }
  return "unspecified";
}

Result<std::string> MakeCrl(X509* issuer, EVP_PKEY* key,
                            const ::smimegate::keyservice::store::StoredRevocations& revoked,
                            std::chrono::system_clock::time_point now, std::chrono::seconds validity) {
  std::unique_ptr<X509_CRL, CrlFree> crl(X509_CRL_new());
  const time_t t = std::chrono::system_clock::to_time_t(now);
  TimePtr this_update(ASN1_TIME_set(nullptr, t));
  TimePtr next_update(ASN1_TIME_set(nullptr, t + static_cast<time_t>(validity.count())));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return MakeError(ErrorCode::kInternal, "CRL: " + OpenSslError());
  }
  for (const auto& e : revoked.entries()) SG_RETURN_IF_ERROR(AddEntry(crl.get(), e));
  X509_CRL_sort(crl.get());
  ASN1_INTEGER* number = ASN1_INTEGER_new();
  ASN1_INTEGER_set_int64(number, revoked.crl_number());
  const int added = X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number, 0, 0);
  ASN1_INTEGER_free(number);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, crl.get(), 0);
  X509_EXTENSION* aki = X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier,
                                            "keyid:always");
  const bool aki_ok = aki != nullptr && X509_CRL_add_ext(crl.get(), aki, -1) == 1;
  X509_EXTENSION_free(aki);
  if (added != 1 || !aki_ok || X509_CRL_sign(crl.get(), key, DigestFor(key)) <= 0) {
    return MakeError(ErrorCode::kInternal, "CRL signing: " + OpenSslError());
  }
  unsigned char* buf = nullptr;
  const int n = i2d_X509_CRL(crl.get(), &buf);
  if (n <= 0) return MakeError(ErrorCode::kInternal, "CRL encoding: " + OpenSslError());
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return der;
}

}  // namespace sg::keyservice
