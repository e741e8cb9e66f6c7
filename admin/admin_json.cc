#include "admin/admin_json.h"

#include <openssl/evp.h>

#include <string_view>

namespace sg::admin {

Answer ErrorAnswer(int status, const std::string& code, const std::string& message) {
  return {status, Json{{"error", {{"code", code}, {"message", message}}}}};
}

Answer ErrorAnswer(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return ErrorAnswer(400, "invalid_argument", e.message);
    case ErrorCode::kNotFound:
      return ErrorAnswer(404, "not_found", e.message);
    case ErrorCode::kAlreadyExists:
      return ErrorAnswer(409, "conflict", e.message);
    case ErrorCode::kPermissionDenied:
      return ErrorAnswer(403, "forbidden", e.message);
    case ErrorCode::kUnavailable:
      return ErrorAnswer(503, "unavailable", e.message);
    case ErrorCode::kUnsupported:
      return ErrorAnswer(501, "unsupported", e.message);
    default:
      return ErrorAnswer(500, "internal", e.message);
  }
}

Answer NotFound(const std::string& kind, const std::string& id) {
  return ErrorAnswer(404, "not_found", "no " + kind + " \"" + id + "\"");
}

std::string AuditResultName(int status) {
  if (status < 300) return "OK";
  switch (status) {
    case 400:
    case 413:
    case 415:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
    case 405:
      return "NOT_FOUND";
    case 409:
      return "ALREADY_EXISTS";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 501:
      return "UNIMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    default:
      return "INTERNAL";
  }
}

Json ToJson(const keyservice::Tenant& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"reseller", t.reseller},
          {"created_at", t.created_at},
          {"domains", t.domains}};
}

Json ToJson(const keyservice::Reseller& r) {
  return {{"id", r.id}, {"name", r.name}, {"created_at", r.created_at}, {"tenants", r.tenants}};
}

Json ToJson(const keyservice::Domain& d) {
  return {{"name", d.name},
          {"tenant", d.tenant},
          {"ca_backend", d.ca_backend},
          {"needs_validation", d.needs_validation},
          {"validation_state", d.validation_state},
          {"valid_until", d.valid_until}};
}

Json ToJson(const keyservice::User& u) {
  return {{"address", u.address}, {"participating", u.participating}, {"tenant", u.tenant}};
}

Json ToJson(const keyservice::CertificateInfo& c) {
  return {{"fingerprint", c.fingerprint}, {"owner", c.owner},
          {"kind", c.kind},               {"subject", c.subject},
          {"issuer", c.issuer},           {"not_before", c.not_before},
          {"not_after", c.not_after},     {"has_private_key", c.has_private_key},
          {"current", c.current},         {"origin", c.origin}};
}

Json ToJson(const keyservice::AuditRecord& r) {
  return {{"time_us", r.time_us}, {"subject", r.subject},     {"role", r.role},
          {"method", r.method},   {"arguments", r.arguments}, {"result", r.result},
          {"message", r.message}};
}

Json ToJson(const TokenInfo& t) {
  return {{"id", t.id},
          {"scope", t.scope.ToString()},
          {"name", t.name},
          {"created_at", t.created_at},
          {"revoked_at", t.revoked_at},
          {"expires_at", t.expires_at}};
}

std::string CertificatePem(const std::string& der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  b64.resize(static_cast<size_t>(n));
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END CERTIFICATE-----\n";
}

}  // namespace sg::admin
