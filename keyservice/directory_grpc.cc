#include "keyservice/directory_grpc.h"

#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_status.h"

namespace sg::keyservice {
namespace pb = smimegate::keyservice::v1;
namespace {

constexpr int kMaxUsers = 1'000'000;

void ToPb(const SyncOutcome& out, pb::DirectorySyncResponse* resp) {
  for (const auto& c : out.plan.changes) {
    auto* p = resp->add_changes();
    p->set_kind(ChangeKindName(c.kind));
    p->set_address(c.address);
    p->set_participating(c.participating);
    for (const auto& a : c.aliases) p->add_aliases(a);
    p->set_detail(c.detail);
  }
  for (const auto& w : out.plan.warnings) resp->add_warnings(w);
  resp->set_guard_tripped(out.plan.guard_tripped);
  resp->set_guard_message(out.plan.guard_message);
  resp->set_applied(out.applied);
  for (const auto& e : out.errors) resp->add_errors(e);
  for (const auto& [kind, n] : out.applied_counts) (*resp->mutable_applied_counts())[kind] = n;
  resp->set_existing_users(out.plan.existing_users);
}

void ToPb(const DirectorySourceStatus& s, pb::DirectorySourceStatus* p) {
  p->set_name(s.name);
  p->set_type(s.type);
  p->set_tenant(s.tenant);
  for (const auto& d : s.domains) p->add_domains(d);
  p->set_interval_seconds(s.interval_seconds);
  const auto& run = s.state.last_run;
  p->set_last_started_at(run.started_at);
  p->set_last_finished_at(run.finished_at);
  p->set_last_duration_seconds(run.duration_seconds);
  p->set_last_ok(run.ok);
  p->set_guard_tripped(run.guard_tripped);
  for (const auto& [kind, n] : run.changes) (*p->mutable_last_changes())[kind] = n;
  for (const auto& e : run.errors) p->add_last_errors(e);
  p->set_last_success_at(s.state.last_success_at);
  for (const auto& [domain, t] : s.state.totals) {
    auto& pt = (*p->mutable_totals())[domain];
    pt.set_directory_users(t.directory_users);
    pt.set_participating(t.participating);
  }
  p->set_disabled_users(static_cast<uint32_t>(s.state.memory.disabled_since.size()));
}

}  // namespace

grpc::Status DirectoryGrpc::DirectorySync(grpc::ServerContext*,
                                          const pb::DirectorySyncRequest* req,
                                          pb::DirectorySyncResponse* resp) {
  Result<SyncOutcome> out = MakeError(ErrorCode::kInternal, "not run");
  std::optional<double> share;
  if (req->override_max_disable()) {
    if (req->max_disable_percent() > 100) {
      return ToGrpc(MakeError(ErrorCode::kInvalidArgument, "max_disable_percent must be 0-100"));
    }
    share = req->max_disable_percent() / 100.0;
  }
  if (req->with_users()) {
    if (req->users_size() > kMaxUsers) {
      return ToGrpc(MakeError(ErrorCode::kResourceExhausted,
                              "at most " + std::to_string(kMaxUsers) + " users per sync"));
    }
    DirectoryView view;
    view.users.reserve(req->users_size());
    for (const auto& u : req->users()) {
      view.users.push_back({u.address(), {u.aliases().begin(), u.aliases().end()}, u.enabled(),
                            u.participating()});
    }
    std::set<std::string> domains(req->domains().begin(), req->domains().end());
    out = service_.SyncView(req->source(), domains, view, req->dry_run(), share);
  } else {
    out = service_.SyncSource(req->source(), req->dry_run(), share);
  }
  if (!out.ok()) return ToGrpc(out.error());
  ToPb(*out, resp);
  return grpc::Status::OK;
}

grpc::Status DirectoryGrpc::DirectoryStatus(grpc::ServerContext*,
                                            const pb::DirectoryStatusRequest* req,
                                            pb::DirectoryStatusResponse* resp) {
  auto r = service_.Status(req->source(), req->tenant());
  if (!r.ok()) return ToGrpc(r.error());
  for (const auto& s : *r) ToPb(s, resp->add_sources());
  return grpc::Status::OK;
}

}  // namespace sg::keyservice
