// Certificates, trust anchors, the audit trail and the caller's own token
// (docs/admin-api.md "Certificates", "Trust", "Audit").
#include <algorithm>

#include "admin/admin_handlers.h"

namespace sg::admin {
namespace {

constexpr uint32_t kAuditDefaultLimit = 100;
constexpr uint32_t kAuditMaxLimit = 1000;
// Records read per store call while filtering the audit trail by scope.
constexpr uint32_t kAuditPage = 1000;

Result<int64_t> ParseSince(const std::string& text) {
  if (text.empty()) return int64_t{0};
  int64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9' || v > (int64_t{1} << 56)) {
      return MakeError(ErrorCode::kInvalidArgument, "\"since\" must be unix microseconds");
    }
    v = v * 10 + (ch - '0');
  }
  return v;
}

}  // namespace

Result<uint32_t> ParseLimit(const std::string& text) {
  if (text.empty()) return kAuditDefaultLimit;
  uint64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9' || v > kAuditMaxLimit) {
      return MakeError(ErrorCode::kInvalidArgument, "\"limit\" must be a number from 1 to 1000");
    }
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (v == 0 || v > kAuditMaxLimit) {
    return MakeError(ErrorCode::kInvalidArgument, "\"limit\" must be a number from 1 to 1000");
  }
  return static_cast<uint32_t>(v);
}

Answer ListCertificates(Call& c) {
  const std::string owner = c.Query("owner");
  auto list = c.d.keys.ListCertificates(owner, c.Query("kind"));
  if (!list.ok()) return ErrorAnswer(list.error());
  Json out = Json::array();
  for (const auto& cert : *list) {
    if (cert.kind == "trust") continue;  // GET /v1/trust
    auto visible = c.access.Owner(cert.owner);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (*visible) out.push_back(ToJson(cert));
  }
  return {200, Json{{"certificates", out}}};
}

Answer ShowCertificate(Call& c) {
  const std::string& fingerprint = c.params[0];
  auto list = c.d.keys.ListCertificates("", "");
  if (!list.ok()) return ErrorAnswer(list.error());
  for (const auto& cert : *list) {
    if (cert.fingerprint != fingerprint || cert.kind == "trust") continue;
    auto visible = c.access.Owner(cert.owner);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (!*visible) break;
    Json j = ToJson(cert);
    j["pem"] = CertificatePem(cert.der);
    return {200, j};
  }
  return NotFound("certificate", fingerprint);
}

// The anchors every tenant's inbound signatures are checked against: one
// set for the whole gateway, public CA certificates, readable by every scope.
Answer ListTrust(Call& c) {
  auto sources = c.d.keys.TrustSources();
  if (!sources.ok()) return ErrorAnswer(sources.error());
  Json out = Json::array();
  for (const auto& a : sources->anchors) out.push_back(ToJson(a));
  return {200, Json{{"anchors", out}}};
}

// Audit records oldest first from `since` (unix microseconds), at most
// `limit`: every record for a super token, else the records of admin API
// calls made with tokens in the caller's scope.
Answer ListAudit(Call& c) {
  auto limit = ParseLimit(c.Query("limit"));
  if (!limit.ok()) return ErrorAnswer(limit.error());
  auto since = ParseSince(c.Query("since"));
  if (!since.ok()) return ErrorAnswer(since.error());
  Json out = Json::array();
  int64_t from = *since;
  while (out.size() < *limit) {
    auto page = c.d.keys.ListAudit(from, kAuditPage);
    if (!page.ok()) return ErrorAnswer(page.error());
    for (const auto& r : *page) {
      auto visible = c.access.AuditRole(r.role);
      if (!visible.ok()) return ErrorAnswer(visible.error());
      if (*visible && out.size() < *limit) out.push_back(ToJson(r));
    }
    if (page->size() < kAuditPage) break;
    from = page->back().time_us + 1;
  }
  return {200, Json{{"records", out}}};
}

Answer WhoAmI(Call& c) { return {200, ToJson(c.caller)}; }

std::optional<Answer> Hidden(const Result<bool>& visible, const std::string& kind,
                             const std::string& id) {
  if (!visible.ok()) return ErrorAnswer(visible.error());
  if (!*visible) return NotFound(kind, id);
  return std::nullopt;
}

Answer Forbidden(const std::string& what) { return ErrorAnswer(403, "forbidden", what); }

Result<Json> BodyObject(const Call& call) {
  Json j = Json::parse(call.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return MakeError(ErrorCode::kInvalidArgument, "the body is not valid JSON");
  }
  if (!j.is_object()) return MakeError(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

Result<std::string> StringField(const Json& body, const std::string& key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "\"" + key + "\" must be a string");
  }
  return it->get<std::string>();
}

}  // namespace sg::admin
