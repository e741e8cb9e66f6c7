// KeyServiceClient's DKIM calls (service Dkim, proto/dkim.proto), over the
// client's channel and credentials; tracked like its other calls, so that
// Shutdown cancels them (keyservice_grpc_calls.h).
#include "keyservice/dkim_keys.h"
#include "keyservice/keyservice_grpc_calls.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

namespace {

DkimKeyInfo FromPb(const pb::DkimKeyInfo& k) {
  DkimKeyInfo out = DkimKeyInfoFrom(k);
  out.record_name = k.record_name();
  out.record_value = k.record_value();
  return out;
}

}  // namespace

#define SG_DKIM(method, req, resp)                                                         \
  TrackedCall(&pb::Dkim::Stub::method, stubs_->dkim.get(), req, resp, timeout_, endpoint_, \
              wait_for_ready_, *calls_)

Result<std::optional<DkimSigningKey>> KeyServiceClient::GetDkimKey(const std::string& domain) {
  pb::DkimKeyRequest req;
  req.set_domain(domain);
  pb::DkimKeyResponse resp;
  SG_RETURN_IF_ERROR(SG_DKIM(GetDkimKey, req, &resp));
  if (!resp.found()) return std::optional<DkimSigningKey>();
  DkimSigningKey k{resp.key().domain(), resp.key().selector(), resp.key().algorithm(),
                   resp.key().private_key_der()};
  return std::optional<DkimSigningKey>(std::move(k));
}

Result<DkimKeyInfo> KeyServiceClient::DkimKeygen(const std::string& domain,
                                                 const std::string& selector,
                                                 const std::string& algorithm) {
  pb::DkimKeygenRequest req;
  req.set_domain(domain);
  req.set_selector(selector);
  req.set_algorithm(algorithm);
  pb::DkimKeyInfo resp;
  SG_RETURN_IF_ERROR(SG_DKIM(DkimKeygen, req, &resp));
  return FromPb(resp);
}

Result<std::vector<DkimKeyInfo>> KeyServiceClient::DkimList(const std::string& domain) {
  pb::DkimListRequest req;
  req.set_domain(domain);
  pb::DkimListResponse resp;
  SG_RETURN_IF_ERROR(SG_DKIM(DkimList, req, &resp));
  std::vector<DkimKeyInfo> out;
  for (const auto& k : resp.keys()) out.push_back(FromPb(k));
  return out;
}

Result<DkimKeyInfo> KeyServiceClient::DkimActivate(const std::string& domain,
                                                   const std::string& selector) {
  pb::DkimSelectorRequest req;
  req.set_domain(domain);
  req.set_selector(selector);
  pb::DkimKeyInfo resp;
  SG_RETURN_IF_ERROR(SG_DKIM(DkimActivate, req, &resp));
  return FromPb(resp);
}

Status KeyServiceClient::DkimRemove(const std::string& domain, const std::string& selector) {
  pb::DkimSelectorRequest req;
  req.set_domain(domain);
  req.set_selector(selector);
  pb::DkimRemoveResponse resp;
  return SG_DKIM(DkimRemove, req, &resp);
}

#undef SG_DKIM

}  // namespace sg::keyservice
