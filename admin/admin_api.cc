#include "admin/admin_api.h"

#include <spdlog/spdlog.h>

#include "admin/admin_routes.h"
#include "common/ascii.h"

namespace sg::admin {
namespace {

constexpr size_t kAuditArgumentsMax = 4096;
constexpr size_t kAuditPathMax = 256;

std::string Dump(const Json& j) {
  // Replace invalid UTF-8 (a path segment may carry any byte) instead of throwing.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

ApiReply Reply(const Answer& a) {
  ApiReply r;
  r.status = a.status;
  if (!a.content_type.empty()) {
    r.content_type = a.content_type;
    r.body = a.text;
  } else if (!a.body.is_null()) {
    r.body = Dump(a.body);
  }
  return r;
}

// The token of "Authorization: Bearer <token>", "" when there is none.
std::string BearerToken(const std::string& header) {
  std::string_view v = AsciiTrim(header);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size() || !AsciiEqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme)) {
    return "";
  }
  return std::string(AsciiTrim(v.substr(kScheme.size())));
}

// The request as audit arguments: path, query and body (only its size when
// it carries a secret), cut to 4 KiB.
std::string AuditArguments(const ApiRequest& req, bool secret_body) {
  std::string args = req.path;
  bool first = true;
  for (const auto& [k, v] : req.query) {
    args += first ? '?' : '&';
    args += k;
    args += '=';
    args += v;
    first = false;
  }
  if (secret_body && !req.body.empty()) {
    args += " <body withheld: " + std::to_string(req.body.size()) + " bytes>";
  } else if (!req.body.empty()) {
    args += " " + req.body;
  }
  if (args.size() > kAuditArgumentsMax) args.resize(kAuditArgumentsMax);
  return args;
}

}  // namespace

// 429 before the token is looked at. One refusal per client and minute is
// audited and logged (with the count since the last one); the others only
// counted, so a flood writes no more records than a trickle.
ApiReply AdminApi::RefuseClient(const ApiRequest& req,
                                const ClientRateLimiter::Admission& admission) {
  const std::string who = admission.overflow
                              ? "client " + req.client_address + " (no room in the client table)"
                              : "client " + admission.client;
  Answer a = ErrorAnswer(429, "rate_limited",
                         who + " has made too many requests without a valid token " +
                             "(keyservice.admin_api.rate_limit_unauthenticated_per_second); " +
                             "retry after " + std::to_string(admission.retry_after) + " s");
  if (admission.report) {
    const std::string note = "; " + std::to_string(admission.unreported) +
                             " request(s) refused since the last record for this client";
    spdlog::warn("admin API: {}{}", a.body["error"]["message"].get<std::string>(), note);
    keyservice::AuditRecord audit;
    audit.time_us = d_.clock.NowMs() * 1000;
    audit.subject = "token:-";
    audit.role = "-";
    audit.method = "AdminApi/" + req.method + " " + req.path.substr(0, kAuditPathMax);
    // Nothing of the request but its address: it was not read further.
    audit.arguments = "client " + req.client_address.substr(0, kAuditPathMax);
    audit.result = AuditResultName(429);
    audit.message = a.body["error"]["message"].get<std::string>() + note;
    d_.audit.Record(audit);
  }
  ApiReply r = Reply(a);
  r.retry_after = admission.retry_after;
  r.limited = admission.overflow ? "client_table_full" : "client_address";
  return r;
}

ApiReply AdminApi::Handle(const ApiRequest& req) {
  const ClientRateLimiter::Admission admission = client_limiter_.Take(req.client_address);
  if (admission.retry_after > 0) return RefuseClient(req, admission);

  keyservice::AuditRecord audit;
  audit.time_us = d_.clock.NowMs() * 1000;
  // Routed first (a pure function) so a secret body never reaches the
  // audit record, not even of a call refused for its token; an unrouted
  // request changes nothing, and its body (a key import to a mistyped path)
  // is withheld too.
  RouteMatch match = FindRoute(req.method, req.path);
  audit.arguments = AuditArguments(req, match.secret_body || match.handler == nullptr);
  // Unrouted requests name their raw path: cut, like the arguments.
  audit.method = "AdminApi/" + req.method + " " + req.path.substr(0, kAuditPathMax);

  auto checked = d_.tokens.Check(BearerToken(req.authorization));
  // Only the client's own failures (no valid token) stay charged.
  if (!checked.ok() || *checked) client_limiter_.Refund(admission);
  if (!checked.ok() || !*checked) {
    Answer a = checked.ok()
                   ? ErrorAnswer(401, "unauthenticated",
                                 "a valid admin API token is required (Authorization: Bearer ...)")
                   : ErrorAnswer(checked.error());
    audit.subject = "token:-";
    audit.role = "-";
    audit.result = AuditResultName(a.status);
    audit.message = a.body["error"]["message"].get<std::string>();
    d_.audit.Record(audit);
    ApiReply r = Reply(a);
    r.unauthenticated = a.status == 401;
    return r;
  }
  const TokenInfo& caller = **checked;
  audit.subject = "token:" + caller.id + (caller.name.empty() ? "" : " (" + caller.name + ")");
  audit.role = caller.scope.ToString();

  Answer answer;
  const int64_t retry_after = limiter_.Take(caller.id);
  if (retry_after > 0) {
    answer =
        ErrorAnswer(429, "rate_limited",
                    "token " + caller.id + " is over its request rate (keyservice.admin_api." +
                        "rate_limit_per_token); retry after " + std::to_string(retry_after) + " s");
  } else if (match.handler == nullptr) {
    answer = match.allow.empty()
                 ? ErrorAnswer(404, "no_route", "no such API path: " + req.path.substr(0, kAuditPathMax))
                 : ErrorAnswer(405, "method_not_allowed",
                               req.method + " is not allowed here (allowed: " + match.allow + ")");
  } else {
    audit.method = "AdminApi/" + match.route;
    Access access(caller.scope, d_.tenants, d_.service);
    Call call{d_, caller, access, match.params, req.query, req.body, portal_};
    answer = match.handler(call);
  }
  audit.result = AuditResultName(answer.status);
  if (answer.status >= 400) audit.message = answer.body["error"]["message"].get<std::string>();
  d_.audit.Record(audit);
  ApiReply r = Reply(answer);
  if (answer.status == 405) r.allow = match.allow;
  if (answer.status == 429) {
    r.retry_after = retry_after;
    r.limited = "token";
  }
  return r;
}

}  // namespace sg::admin
