// smimegatectl audit list [--since 2h|2026-12-01|2026-12-01T10:00:00Z] [--limit N]
#include <ctime>
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"

namespace sg::ctl {
namespace {

struct AuditArgs {
  std::string since;
  uint32_t limit = 1000;
  bool json = false;
};

// A duration back from now (90s, 15m, 2h, 7d) or a UTC date / date-time.
Result<int64_t> ParseSince(const std::string& since, int64_t now_us) {
  if (since.empty()) return 0;
  size_t digits = 0;
  while (digits < since.size() && std::isdigit(static_cast<unsigned char>(since[digits]))) ++digits;
  if (digits > 0 && digits + 1 == since.size() && digits < 10) {
    int64_t n = std::stoll(since.substr(0, digits));
    int64_t unit = 0;
    switch (since.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
    }
    if (unit != 0) return now_us - n * unit * 1000000;
  }
  for (const char* format : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    struct tm tm {};
    const char* end = strptime(since.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return static_cast<int64_t>(timegm(&tm)) * 1000000;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "--since " + since + ": expected a duration (90s, 15m, 2h, 7d) or a UTC date "
                   "(2026-12-01 or 2026-12-01T10:00:00Z)");
}

}  // namespace

void AddAuditCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<AuditArgs>();
  auto* audit = app.add_subcommand("audit", "the audit log of admin calls")->require_subcommand(1);
  auto* list = audit->add_subcommand("list", "audit records, oldest first");
  list->add_option("--since", a.since, "a duration back from now (2h, 7d) or a UTC date(-time)");
  list->add_option("--limit", a.limit, "at most this many records (default 1000)")
      ->check(CLI::Range(1, 1000000));
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
      auto since = ParseSince(a.since, now);
      if (!since.ok()) return Fail(since.error());
      auto r = c.ListAudit(*since, a.limit);
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, AuditJson);
      for (const auto& rec : *r) {
        std::cout << Timestamp(rec.time_us) << "\t" << rec.subject << "\t" << rec.role << "\t"
                  << rec.method << "\t" << rec.result
                  << (rec.message.empty() ? "" : " (" + rec.message + ")") << "\t" << rec.arguments
                  << "\n";
      }
      return 0;
    });
  });
}

}  // namespace sg::ctl
