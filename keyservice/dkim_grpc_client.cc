// KeyServiceClient's DKIM calls (service Dkim, proto/dkim.proto), over the
// client's channel and credentials.
#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_grpc_status.h"
#include "proto/dkim.grpc.pb.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

namespace {

DkimKeyInfo FromPb(const pb::DkimKeyInfo& k) {
  DkimKeyInfo out;
  out.domain = k.domain();
  out.selector = k.selector();
  out.algorithm = k.algorithm();
  out.state = k.state();
  out.created_at = k.created_at();
  out.activated_at = k.activated_at();
  out.public_key = k.public_key();
  out.record_name = k.record_name();
  out.record_value = k.record_value();
  return out;
}

}  // namespace

Result<std::optional<DkimSigningKey>> KeyServiceClient::GetDkimKey(const std::string& domain) {
  auto stub = pb::Dkim::NewStub(channel());
  pb::DkimKeyRequest req;
  req.set_domain(domain);
  pb::DkimKeyResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::Dkim::Stub::GetDkimKey, *stub, req, &resp, timeout_, endpoint_,
                               wait_for_ready_));
  if (!resp.found()) return std::optional<DkimSigningKey>();
  DkimSigningKey k{resp.key().domain(), resp.key().selector(), resp.key().algorithm(),
                   resp.key().private_key_der()};
  return std::optional<DkimSigningKey>(std::move(k));
}

Result<DkimKeyInfo> KeyServiceClient::DkimKeygen(const std::string& domain,
                                                 const std::string& selector,
                                                 const std::string& algorithm) {
  auto stub = pb::Dkim::NewStub(channel());
  pb::DkimKeygenRequest req;
  req.set_domain(domain);
  req.set_selector(selector);
  req.set_algorithm(algorithm);
  pb::DkimKeyInfo resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::Dkim::Stub::DkimKeygen, *stub, req, &resp, timeout_, endpoint_,
                               wait_for_ready_));
  return FromPb(resp);
}

Result<std::vector<DkimKeyInfo>> KeyServiceClient::DkimList(const std::string& domain) {
  auto stub = pb::Dkim::NewStub(channel());
  pb::DkimListRequest req;
  req.set_domain(domain);
  pb::DkimListResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::Dkim::Stub::DkimList, *stub, req, &resp, timeout_, endpoint_,
                               wait_for_ready_));
  std::vector<DkimKeyInfo> out;
  for (const auto& k : resp.keys()) out.push_back(FromPb(k));
  return out;
}

Result<DkimKeyInfo> KeyServiceClient::DkimActivate(const std::string& domain,
                                                   const std::string& selector) {
  auto stub = pb::Dkim::NewStub(channel());
  pb::DkimSelectorRequest req;
  req.set_domain(domain);
  req.set_selector(selector);
  pb::DkimKeyInfo resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::Dkim::Stub::DkimActivate, *stub, req, &resp, timeout_,
                               endpoint_, wait_for_ready_));
  return FromPb(resp);
}

Status KeyServiceClient::DkimRemove(const std::string& domain, const std::string& selector) {
  auto stub = pb::Dkim::NewStub(channel());
  pb::DkimSelectorRequest req;
  req.set_domain(domain);
  req.set_selector(selector);
  pb::DkimRemoveResponse resp;
  return UnaryCall(&pb::Dkim::Stub::DkimRemove, *stub, req, &resp, timeout_, endpoint_,
                   wait_for_ready_);
}

}  // namespace sg::keyservice
