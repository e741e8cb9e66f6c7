// The gRPC side of tenants and resellers (docs/tenants.md): pure
// translation between proto/keyservice.proto and TenantAdmin / KeyService.
#include "keyservice/keyservice_grpc_server.h"
#include "keyservice/keyservice_grpc_status.h"
#include "keyservice/tenant_policy_pb.h"

namespace sg::keyservice {
namespace {

void RouteToPb(const TenantRoute& r, pb::TenantRoute* out) {
  out->set_tenant(r.tenant);
  for (const auto& h : r.hosts) out->add_hosts(h);
  out->set_tls(r.tls);
}

void BindingToPb(const TenantBinding& b, pb::TenantBinding* out) {
  out->set_kind(b.kind);
  out->set_value(b.value);
  out->set_tenant(b.tenant);
}

void TenantToPb(const Tenant& t, pb::Tenant* out) {
  out->set_id(t.id);
  out->set_name(t.name);
  out->set_reseller(t.reseller);
  out->set_created_at(t.created_at);
  for (const auto& d : t.domains) out->add_domains(d);
  if (!t.route.hosts.empty()) RouteToPb(t.route, out->mutable_route());
  for (const auto& b : t.bindings) BindingToPb(b, out->add_bindings());
  if (!t.policy.empty()) TenantPolicyToPb(t.policy, out->mutable_policy());
  if (!t.branding.empty()) TenantBrandingToPb(t.branding, out->mutable_branding());
}

TenantBinding BindingFromPb(const pb::TenantBinding& b) {
  return TenantBinding{b.kind(), b.value(), b.tenant()};
}

void ResellerToPb(const Reseller& r, pb::Reseller* out) {
  out->set_id(r.id);
  out->set_name(r.name);
  out->set_created_at(r.created_at);
  for (const auto& t : r.tenants) out->add_tenants(t);
}

grpc::Status Done(const Status& st) { return st.ok() ? grpc::Status::OK : ToGrpc(st.error()); }

grpc::Status Rules(const Result<std::vector<TenantRule>>& r, pb::GlobalRules* resp) {
  if (!r.ok()) return ToGrpc(r.error());
  TenantRulesToPb(*r, resp->mutable_rules());
  return grpc::Status::OK;
}

}  // namespace

grpc::Status KeyServiceGrpc::TenantDomains(grpc::ServerContext*, const pb::TenantDomainsRequest*,
                                           pb::TenantDomainsResponse* resp) {
  auto r = impl_.TenantRouting();
  if (!r.ok()) return ToGrpc(r.error());
  for (const auto& d : r->domains) {
    auto* o = resp->add_domains();
    o->set_name(d.name);
    o->set_tenant(d.tenant);
  }
  for (const auto& route : r->routes) RouteToPb(route, resp->add_routes());
  for (const auto& b : r->bindings) BindingToPb(b, resp->add_bindings());
  for (const auto& p : r->policies) TenantPolicyToPb(p, resp->add_policies());
  TenantRulesToPb(r->global_rules, resp->mutable_global_rules());
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantAdd(grpc::ServerContext*, const pb::Tenant* req,
                                     pb::Tenant* resp) {
  auto r = impl_.TenantAdd(Tenant{req->id(), req->name(), req->reseller()});
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantList(grpc::ServerContext*, const pb::TenantListRequest* req,
                                      pb::TenantListResponse* resp) {
  auto r = impl_.TenantList(req->reseller());
  if (!r.ok()) return ToGrpc(r.error());
  for (const auto& t : *r) TenantToPb(t, resp->add_tenants());
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantShow(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                      pb::Tenant* resp) {
  auto r = impl_.TenantShow(req->id());
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantRemove(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                        pb::RemoveResponse*) {
  return Done(impl_.TenantRemove(req->id()));
}

grpc::Status KeyAdminGrpc::ResellerAdd(grpc::ServerContext*, const pb::Reseller* req,
                                       pb::Reseller* resp) {
  auto r = impl_.ResellerAdd(Reseller{req->id(), req->name()});
  if (!r.ok()) return ToGrpc(r.error());
  ResellerToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ResellerList(grpc::ServerContext*, const pb::ResellerListRequest*,
                                        pb::ResellerListResponse* resp) {
  auto r = impl_.ResellerList();
  if (!r.ok()) return ToGrpc(r.error());
  for (const auto& x : *r) ResellerToPb(x, resp->add_resellers());
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ResellerShow(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                        pb::Reseller* resp) {
  auto r = impl_.ResellerShow(req->id());
  if (!r.ok()) return ToGrpc(r.error());
  ResellerToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ResellerRemove(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                          pb::RemoveResponse*) {
  return Done(impl_.ResellerRemove(req->id()));
}

grpc::Status KeyAdminGrpc::TenantRemoveDomain(grpc::ServerContext*,
                                              const pb::TenantRemoveDomainRequest* req,
                                              pb::RemoveResponse*) {
  return Done(impl_.TenantRemoveDomain(req->name()));
}

grpc::Status KeyAdminGrpc::TenantRouteSet(grpc::ServerContext*, const pb::TenantRoute* req,
                                          pb::Tenant* resp) {
  TenantRoute route;
  route.tenant = req->tenant();
  route.hosts.assign(req->hosts().begin(), req->hosts().end());
  route.tls = req->tls();
  auto r = impl_.TenantRouteSet(route);
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantRouteClear(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                            pb::Tenant* resp) {
  auto r = impl_.TenantRouteClear(req->id());
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantBind(grpc::ServerContext*, const pb::TenantBinding* req,
                                      pb::Tenant* resp) {
  auto r = impl_.TenantBind(BindingFromPb(*req));
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantUnbind(grpc::ServerContext*, const pb::TenantBinding* req,
                                        pb::RemoveResponse*) {
  return Done(impl_.TenantUnbind(BindingFromPb(*req)));
}

grpc::Status KeyAdminGrpc::TenantPolicySet(grpc::ServerContext*, const pb::TenantPolicy* req,
                                           pb::Tenant* resp) {
  auto r = impl_.TenantPolicySet(TenantPolicyFromPb(*req));
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantPolicyClear(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                             pb::Tenant* resp) {
  auto r = impl_.TenantPolicyClear(req->id());
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantBrandingSet(grpc::ServerContext*, const pb::TenantBranding* req,
                                             pb::Tenant* resp) {
  auto r = impl_.TenantBrandingSet(TenantBrandingFromPb(*req));
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TenantBrandingClear(grpc::ServerContext*, const pb::TenantIdRequest* req,
                                               pb::Tenant* resp) {
  auto r = impl_.TenantBrandingClear(req->id());
  if (!r.ok()) return ToGrpc(r.error());
  TenantToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::GlobalRulesShow(grpc::ServerContext*, const pb::GlobalRulesRequest*,
                                           pb::GlobalRules* resp) {
  return Rules(impl_.GlobalRulesShow(), resp);
}

grpc::Status KeyAdminGrpc::GlobalRulesSet(grpc::ServerContext*, const pb::GlobalRules* req,
                                          pb::GlobalRules* resp) {
  return Rules(impl_.GlobalRulesSet(TenantRulesFromPb(req->rules())), resp);
}

grpc::Status KeyAdminGrpc::GlobalRuleAdd(grpc::ServerContext*, const pb::TenantRule* req,
                                         pb::GlobalRules* resp) {
  return Rules(impl_.GlobalRuleAdd(TenantRule{req->match(), req->action()}), resp);
}

grpc::Status KeyAdminGrpc::GlobalRuleRemove(grpc::ServerContext*,
                                            const pb::GlobalRuleRemoveRequest* req,
                                            pb::GlobalRules* resp) {
  return Rules(impl_.GlobalRuleRemove(req->match()), resp);
}

}  // namespace sg::keyservice
