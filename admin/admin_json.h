// The admin REST API's JSON: objects as the API shows them (the field names
// of smimegatectl's --json lists, docs/tenants.md) and the error body
// {"error":{"code":"...","message":"..."}} with its HTTP status.
//
// Threading: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "admin/admin_tokens.h"
#include "common/result.h"
#include "keyservice/audit.h"
#include "keyservice/key_admin.h"
#include "keyservice/tenant_admin.h"

namespace sg::admin {

using Json = nlohmann::json;

// An answer of a handler: HTTP status and JSON body (null: no body, 204).
// A non-JSON answer (a CSV report) sets content_type and text instead;
// error answers are always JSON.
struct Answer {
  int status = 200;
  Json body;
  std::string content_type{};  // "": JSON (body)
  std::string text{};          // the body when content_type is set
};

Answer ErrorAnswer(int status, const std::string& code, const std::string& message);
// The status and code of a keyservice error: kInvalidArgument 400
// invalid_argument, kNotFound 404 not_found, kAlreadyExists 409 conflict,
// kPermissionDenied 403 forbidden, kUnavailable 503 unavailable,
// kUnsupported 501 unsupported, anything else 500 internal.
Answer ErrorAnswer(const Error& error);
// The one body of an object that is absent or outside the caller's scope:
// it depends only on what was asked for.
Answer NotFound(const std::string& kind, const std::string& id);
// "OK", "NOT_FOUND", ... (like the gRPC audit records) for an HTTP status.
std::string AuditResultName(int status);

Json ToJson(const keyservice::Tenant& t);
Json ToJson(const keyservice::Reseller& r);
Json ToJson(const keyservice::Domain& d);
Json ToJson(const keyservice::User& u);
Json ToJson(const keyservice::CertificateInfo& c);  // without the DER
Json ToJson(const keyservice::AuditRecord& r);
Json ToJson(const TokenInfo& t);

// PEM text of a DER certificate.
std::string CertificatePem(const std::string& der);

}  // namespace sg::admin
