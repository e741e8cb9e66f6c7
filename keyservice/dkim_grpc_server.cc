#include "keyservice/dkim_grpc_server.h"

#include "keyservice/keyservice_grpc_status.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

namespace {

void ToPb(const DkimKeyInfo& k, pb::DkimKeyInfo* out) {
  out->set_domain(k.domain);
  out->set_selector(k.selector);
  out->set_algorithm(k.algorithm);
  out->set_state(k.state);
  out->set_created_at(k.created_at);
  out->set_activated_at(k.activated_at);
  out->set_public_key(k.public_key);
  out->set_record_name(k.record_name);
  out->set_record_value(k.record_value);
}

}  // namespace

grpc::Status DkimGrpc::GetDkimKey(grpc::ServerContext*, const pb::DkimKeyRequest* req,
                                  pb::DkimKeyResponse* resp) {
  auto key = impl_.GetDkimKey(req->domain());
  if (!key.ok()) return ToGrpc(key.error());
  if (!*key) return grpc::Status::OK;
  resp->set_found(true);
  auto* k = resp->mutable_key();
  k->set_domain((*key)->domain);
  k->set_selector((*key)->selector);
  k->set_algorithm((*key)->algorithm);
  k->set_private_key_der((*key)->private_key_der);
  return grpc::Status::OK;
}

grpc::Status DkimGrpc::DkimKeygen(grpc::ServerContext*, const pb::DkimKeygenRequest* req,
                                  pb::DkimKeyInfo* resp) {
  auto info = impl_.DkimKeygen(req->domain(), req->selector(), req->algorithm());
  if (!info.ok()) return ToGrpc(info.error());
  ToPb(*info, resp);
  return grpc::Status::OK;
}

grpc::Status DkimGrpc::DkimList(grpc::ServerContext*, const pb::DkimListRequest* req,
                                pb::DkimListResponse* resp) {
  auto list = impl_.DkimList(req->domain());
  if (!list.ok()) return ToGrpc(list.error());
  for (const auto& k : *list) ToPb(k, resp->add_keys());
  return grpc::Status::OK;
}

grpc::Status DkimGrpc::DkimActivate(grpc::ServerContext*, const pb::DkimSelectorRequest* req,
                                    pb::DkimKeyInfo* resp) {
  auto info = impl_.DkimActivate(req->domain(), req->selector());
  if (!info.ok()) return ToGrpc(info.error());
  ToPb(*info, resp);
  return grpc::Status::OK;
}

grpc::Status DkimGrpc::DkimRemove(grpc::ServerContext*, const pb::DkimSelectorRequest* req,
                                  pb::DkimRemoveResponse*) {
  auto st = impl_.DkimRemove(req->domain(), req->selector());
  if (!st.ok()) return ToGrpc(st.error());
  return grpc::Status::OK;
}

}  // namespace sg::keyservice
