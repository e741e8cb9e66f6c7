// Key and certificate imports over REST (docs/admin-api.md "Imports"): a
// user's PKCS#12 (`smimegatectl key import`) and recipient certificates
// (`smimegatectl cert import`), with the certificate body shared by the
// trust routes (BodyCertificates).
//
// Certificates for an owner outside the caller's domains (a partner's
// address or domain) are used by every tenant that mails that partner, so
// only a super token imports them; any other owner outside the scope gets
// the same 403, so the answer does not tell whether another tenant hosts it.
#include <openssl/crypto.h>

#include "admin/admin_handlers.h"
#include "common/mail/base64.h"
#include "keyservice/import_files.h"

namespace sg::admin {
namespace {

constexpr size_t kMaxCertificates = 100;
constexpr size_t kMaxPkcs12Bytes = size_t{256} * 1024;

// Wipes a secret copy when it goes out of scope.
struct Wipe {
  std::string& s;
  ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
};

Result<std::string> Pkcs12Of(const Json& body) {
  SG_ASSIGN_OR_RETURN(std::string b64, StringField(body, "pkcs12"));
  if (b64.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"pkcs12\" is required: the PKCS#12 file (.p12/.pfx) in base64");
  }
  auto der = mail::Base64Decode(b64);
  if (!der.ok() || der->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "\"pkcs12\" is not valid base64");
  }
  if (der->size() > kMaxPkcs12Bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"pkcs12\" is " + std::to_string(der->size()) +
                         " bytes; a PKCS#12 file of one key and its chain is at most 256 KiB");
  }
  return der;
}

}  // namespace

Result<std::vector<std::string>> BodyCertificates(const Json& body) {
  SG_ASSIGN_OR_RETURN(std::string pem, StringField(body, "pem"));
  SG_ASSIGN_OR_RETURN(std::string der_b64, StringField(body, "der"));
  if (pem.empty() == der_b64.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give the certificates as \"pem\" (PEM text, any number of CERTIFICATE "
                     "blocks) or \"der\" (one DER certificate in base64)");
  }
  std::string data = pem;
  if (!der_b64.empty()) {
    auto der = mail::Base64Decode(der_b64);
    if (!der.ok() || der->empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "\"der\" is not valid base64");
    }
    data = std::move(*der);
  }
  SG_ASSIGN_OR_RETURN(auto certs,
                      keyservice::ParseCertificateFile(data, pem.empty() ? "der" : "pem"));
  if (certs.size() > kMaxCertificates) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::to_string(certs.size()) + " certificates in one request; at most 100");
  }
  return certs;
}

// POST /v1/users/{address}/keys {"pkcs12": "<base64>", "password": "..."};
// {address} may be "@domain" for the domain's own key. The body is never
// written to the audit trail (admin_routes.cc marks the route).
Answer ImportKey(Call& c) {
  const std::string& owner = c.params[0];
  if (auto hidden = Hidden(c.access.Owner(owner), "user", owner)) return *hidden;
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto pkcs12 = Pkcs12Of(*body);
  if (!pkcs12.ok()) return ErrorAnswer(pkcs12.error());
  auto password = StringField(*body, "password");
  if (!password.ok()) return ErrorAnswer(password.error());
  Wipe wipe_key{*pkcs12};
  Wipe wipe_password{*password};
  auto imported = c.d.keys.ImportKey(owner, *pkcs12, *password);
  // A wrong password is bad input here, not a scope the token lacks (403).
  if (!imported.ok() && imported.error().code == ErrorCode::kPermissionDenied) {
    return ErrorAnswer(400, "invalid_argument", imported.error().message);
  }
  if (!imported.ok()) return ErrorAnswer(imported.error());
  return {201, Json{{"key_id", imported->key_id}, {"fingerprint", imported->fingerprint}}};
}

// POST /v1/certificates {"owner": "addr" | "@domain", "pem" | "der"}
Answer ImportCertificates(Call& c) {
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto owner = StringField(*body, "owner");
  if (!owner.ok()) return ErrorAnswer(owner.error());
  if (owner->empty() || *owner == "@") {
    return ErrorAnswer(400, "invalid_argument",
                       "\"owner\" is required: the certificate's address, or @domain for a "
                       "domain certificate");
  }
  auto visible = c.access.Owner(*owner);
  if (!visible.ok()) return ErrorAnswer(visible.error());
  if (!*visible) {
    return Forbidden(
        "certificates of addresses outside your tenants' domains (partners) are "
        "used by every tenant: only a super token may import them");
  }
  auto der = BodyCertificates(*body);
  if (!der.ok()) return ErrorAnswer(der.error());
  auto imported = c.d.keys.ImportCertificates(*owner, *der);
  if (!imported.ok()) return ErrorAnswer(imported.error());
  return {201, Json{{"owner", *owner}, {"fingerprints", *imported}}};
}

}  // namespace sg::admin
