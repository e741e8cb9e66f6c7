// smimegatectl directory sync [--source NAME | --tenant T] [--dry-run]
//              | status [--source NAME] [--tenant T]
// over the keyservice's Directory service (proto/directory.proto,
// docs/directory.md).
#include "cmd/smimegatectl/ctl_directory.h"

#include <algorithm>
#include <iostream>

#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_status.h"
#include "proto/directory.grpc.pb.h"

namespace sg::ctl {
namespace {

namespace pb = smimegate::keyservice::v1;

struct DirectoryArgs {
  std::string source;
  std::string tenant;
  bool dry_run = false;
  int max_disable_percent = -1;
};

template <typename Req, typename Resp>
Status Call(ks::KeyServiceClient& client,
            grpc::Status (pb::Directory::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
            const Req& req, Resp* resp, int timeout_s) {
  auto stub = pb::Directory::NewStub(client.channel());
  return ks::UnaryCall(method, *stub, req, resp, std::chrono::seconds(timeout_s), "keyservice",
                       /*wait_for_ready=*/false);
}

std::string Counts(const google::protobuf::Map<std::string, uint32_t>& counts) {
  std::string out;
  for (const char* kind : {"add", "update", "enable", "alias", "disable", "remove"}) {
    auto it = counts.find(kind);
    if (it == counts.end()) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(it->second) + " " + kind;
  }
  return out.empty() ? "no changes" : out;
}

void PrintChange(const pb::DirectoryChange& c) {
  std::cout << c.kind() << " " << c.address();
  if (c.kind() == "alias") {
    std::cout << " [";
    for (int i = 0; i < c.aliases_size(); ++i) std::cout << (i ? " " : "") << c.aliases(i);
    std::cout << "]";
  } else if (c.kind() != "disable" && c.kind() != "remove") {
    std::cout << (c.participating() ? " participating" : " not-participating");
  }
  std::cout << ": " << c.detail() << "\n";
}

void PrintStatus(const pb::DirectorySourceStatus& s) {
  std::cout << s.name() << " (" << s.type() << ")\n";
  if (!s.tenant().empty()) std::cout << "  tenant: " << s.tenant() << "\n";
  std::cout << "  domains:";
  for (const auto& d : s.domains()) std::cout << " " << d;
  std::cout << "\n  interval: "
            << (s.interval_seconds() > 0 ? std::to_string(s.interval_seconds()) + "s" : "manual")
            << "\n";
  if (s.last_started_at() == 0) {
    std::cout << "  last run: never\n";
    return;
  }
  std::cout << "  last run: " << Timestamp(s.last_started_at() * 1000000) << " "
            << (s.guard_tripped() ? "STOPPED BY THE MASS-REMOVAL GUARD"
                                  : s.last_ok() ? "ok" : "FAILED")
            << " (" << Counts(s.last_changes()) << ")\n";
  for (const auto& e : s.last_errors()) std::cout << "  error: " << e << "\n";
  std::cout << "  last success: "
            << (s.last_success_at() ? Timestamp(s.last_success_at() * 1000000) : "never") << "\n";
  for (const auto& [domain, t] : s.totals()) {
    std::cout << "  " << domain << ": " << t.directory_users() << " users in the directory, "
              << t.participating() << " participating\n";
  }
  if (s.disabled_users() > 0) {
    std::cout << "  disabled, waiting for removal: " << s.disabled_users() << "\n";
  }
}

}  // namespace

void AddGuardOverride(CLI::App& command, int& percent) {
  command
      .add_option("--max-disable-percent", percent,
                  "this run only: the mass-removal guard's limit (intended removals)")
      ->check(CLI::Range(0, 100));
}

void SetGuardOverride(smimegate::keyservice::v1::DirectorySyncRequest& request, int percent) {
  if (percent < 0) return;
  request.set_override_max_disable(true);
  request.set_max_disable_percent(static_cast<uint32_t>(percent));
}

int RunDirectorySync(ks::KeyServiceClient& client, const pb::DirectorySyncRequest& request,
                     int timeout_s) {
  pb::DirectorySyncResponse resp;
  auto st = Call(client, &pb::Directory::Stub::DirectorySync, request, &resp, timeout_s);
  if (!st.ok()) return Fail(st.error());
  for (const auto& c : resp.changes()) PrintChange(c);
  for (const auto& w : resp.warnings()) std::cout << "warning: " << w << "\n";
  for (const auto& e : resp.errors()) std::cerr << "smimegatectl: failed: " << e << "\n";
  if (resp.guard_tripped()) {
    std::cerr << "smimegatectl: " << resp.guard_message() << "\n";
    return 1;
  }
  if (request.dry_run()) {
    std::cout << request.source() << ": dry run, " << resp.changes_size()
              << " changes planned, nothing changed\n";
    return 0;
  }
  std::cout << request.source() << ": " << Counts(resp.applied_counts()) << "\n";
  return resp.errors_size() == 0 ? 0 : 1;
}

void AddDirectoryCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<DirectoryArgs>();
  auto* dir = app.add_subcommand("directory", "users from the customer's directory")
                  ->require_subcommand(1);

  auto* sync = dir->add_subcommand("sync", "run directory sources now (default: all)");
  sync->add_option("--source", a.source, "only this source");
  sync->add_option("--tenant", a.tenant, "only the sources bound to this tenant")
      ->excludes(sync->get_option("--source"));
  sync->add_flag("--dry-run", a.dry_run, "print the planned changes, change nothing");
  AddGuardOverride(*sync, a.max_disable_percent);
  sync->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      std::vector<std::string> names;
      if (!a.source.empty()) {
        names.push_back(a.source);
      } else {
        pb::DirectoryStatusRequest status_req;
        status_req.set_tenant(a.tenant);
        pb::DirectoryStatusResponse status;
        auto st = Call(c, &pb::Directory::Stub::DirectoryStatus, status_req, &status,
                       ctl.globals.timeout_s);
        if (!st.ok()) return Fail(st.error());
        for (const auto& s : status.sources()) {
          if (s.type() != "ad-hoc") names.push_back(s.name());
        }
        if (names.empty()) {
          return Fail(MakeError(ErrorCode::kNotFound,
                                "no directory sources configured (keyservice.directory.sources)"));
        }
      }
      int rc = 0;
      for (const auto& name : names) {
        pb::DirectorySyncRequest req;
        req.set_source(name);
        req.set_dry_run(a.dry_run);
        SetGuardOverride(req, a.max_disable_percent);
        rc = std::max(rc, RunDirectorySync(c, req, ctl.globals.timeout_s));
      }
      return rc;
    });
  });

  auto* status = dir->add_subcommand("status", "last run, changes and errors of each source");
  status->add_option("--source", a.source, "only this source");
  status->add_option("--tenant", a.tenant, "only the sources bound to this tenant");
  status->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      pb::DirectoryStatusRequest req;
      req.set_source(a.source);
      req.set_tenant(a.tenant);
      pb::DirectoryStatusResponse resp;
      auto st = Call(c, &pb::Directory::Stub::DirectoryStatus, req, &resp, ctl.globals.timeout_s);
      if (!st.ok()) return Fail(st.error());
      if (resp.sources().empty()) std::cout << "no directory sources\n";
      for (const auto& s : resp.sources()) PrintStatus(s);
      return 0;
    });
  });
}

}  // namespace sg::ctl
