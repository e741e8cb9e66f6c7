// The mail-queue half of the QueueAdmin service and its client
// (queue_admin_grpc.h): `smimegatectl queue` against the egress running in
// the same process as the keyservice.
#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_status.h"
#include "keyservice/queue_admin_grpc.h"
#include "keyservice/rpc_server_credentials.h"

namespace sg::keyservice {
namespace pb = smimegate::v1;
namespace {

void ToPb(const mailqueue::Entry& e, pb::QueuedMessage* out) {
  out->set_message_id(e.message_id);
  out->set_state(e.state);
  out->set_direction(e.direction);
  out->set_mail_from(e.mail_from);
  for (const auto& r : e.recipients) out->add_recipients(r);
  out->set_message_bytes(e.message_bytes);
  out->set_attempts(e.attempts);
  out->set_received_at_ms(e.received_at_ms);
  out->set_first_attempt_at_ms(e.first_attempt_at_ms);
  out->set_next_attempt_at_ms(e.next_attempt_at_ms);
  out->set_last_error(e.last_error);
  out->set_held_by(e.held_by);
  out->set_position(e.position);
}

mailqueue::Entry FromPb(const pb::QueuedMessage& p) {
  mailqueue::Entry e;
  e.message_id = p.message_id();
  e.state = p.state();
  e.direction = p.direction();
  e.mail_from = p.mail_from();
  e.recipients.assign(p.recipients().begin(), p.recipients().end());
  e.message_bytes = p.message_bytes();
  e.attempts = p.attempts();
  e.received_at_ms = p.received_at_ms();
  e.first_attempt_at_ms = p.first_attempt_at_ms();
  e.next_attempt_at_ms = p.next_attempt_at_ms();
  e.last_error = p.last_error();
  e.held_by = p.held_by();
  e.position = p.position();
  return e;
}

grpc::Status NoEgress() {
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "no egress runs in this process: queue commands are answered by `smimegate "
                      "run` (keyservice and egress in one process)"};
}

// The caller as the audit log names it: the admin certificate's subject.
std::string Caller(const grpc::ServerContext* ctx) {
  auto auth = ctx->auth_context();
  std::string subject = auth ? PeerFromAuthContext(*auth).subject : "";
  return subject.empty() ? "the local administrator" : subject;
}

grpc::Status Fill(const Result<std::vector<mailqueue::Entry>>& r, pb::QueueListResponse* resp) {
  if (!r.ok()) return ToGrpc(r.error());
  for (const auto& e : *r) ToPb(e, resp->add_messages());
  return grpc::Status::OK;
}

grpc::Status Fill(const Result<uint32_t>& r, pb::QueueChangeResponse* resp) {
  if (!r.ok()) return ToGrpc(r.error());
  resp->set_changed(*r);
  return grpc::Status::OK;
}

grpc::Status NeedId(const std::string& id) {
  if (!id.empty()) return grpc::Status::OK;
  return {grpc::StatusCode::INVALID_ARGUMENT, "a message id is required"};
}

}  // namespace

grpc::Status QueueAdminGrpc::QueueList(grpc::ServerContext*, const pb::QueueListRequest*,
                                       pb::QueueListResponse* resp) {
  auto* q = mail_queue_.load();
  return q == nullptr ? NoEgress() : Fill(q->List(), resp);
}

grpc::Status QueueAdminGrpc::QueueShow(grpc::ServerContext*, const pb::QueueMessageRequest* req,
                                       pb::QueueListResponse* resp) {
  auto* q = mail_queue_.load();
  if (auto st = NeedId(req->message_id()); !st.ok()) return st;
  return q == nullptr ? NoEgress() : Fill(q->Show(req->message_id()), resp);
}

grpc::Status QueueAdminGrpc::QueueHold(grpc::ServerContext* ctx, const pb::QueueMessageRequest* req,
                                       pb::QueueChangeResponse* resp) {
  auto* q = mail_queue_.load();
  if (auto st = NeedId(req->message_id()); !st.ok()) return st;
  return q == nullptr ? NoEgress() : Fill(q->Hold(req->message_id(), Caller(ctx)), resp);
}

grpc::Status QueueAdminGrpc::QueueRelease(grpc::ServerContext*, const pb::QueueMessageRequest* req,
                                          pb::QueueChangeResponse* resp) {
  auto* q = mail_queue_.load();
  if (auto st = NeedId(req->message_id()); !st.ok()) return st;
  return q == nullptr ? NoEgress() : Fill(q->Release(req->message_id()), resp);
}

grpc::Status QueueAdminGrpc::QueueDelete(grpc::ServerContext* ctx, const pb::QueueMessageRequest* req,
                                         pb::QueueChangeResponse* resp) {
  auto* q = mail_queue_.load();
  if (auto st = NeedId(req->message_id()); !st.ok()) return st;
  return q == nullptr ? NoEgress() : Fill(q->Delete(req->message_id(), Caller(ctx)), resp);
}

grpc::Status QueueAdminGrpc::QueueRetry(grpc::ServerContext*, const pb::QueueRetryRequest* req,
                                        pb::QueueChangeResponse* resp) {
  auto* q = mail_queue_.load();
  return q == nullptr ? NoEgress() : Fill(q->Retry(req->domain()), resp);
}

MailQueueClient::MailQueueClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                                 std::chrono::milliseconds timeout)
    : stub_(pb::QueueAdmin::NewStub(std::move(channel))),
      endpoint_(std::move(endpoint)),
      timeout_(timeout) {}

Result<std::vector<mailqueue::Entry>> MailQueueClient::List() {
  pb::QueueListRequest req;
  pb::QueueListResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::QueueList, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  std::vector<mailqueue::Entry> out;
  for (const auto& m : resp.messages()) out.push_back(FromPb(m));
  return out;
}

Result<std::vector<mailqueue::Entry>> MailQueueClient::Show(const std::string& message_id) {
  pb::QueueMessageRequest req;
  req.set_message_id(message_id);
  pb::QueueListResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::QueueShow, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  std::vector<mailqueue::Entry> out;
  for (const auto& m : resp.messages()) out.push_back(FromPb(m));
  return out;
}

namespace {

template <typename Method>
Result<uint32_t> Change(Method method, pb::QueueAdmin::Stub& stub, const std::string& message_id,
                        std::chrono::milliseconds timeout, const std::string& endpoint) {
  pb::QueueMessageRequest req;
  req.set_message_id(message_id);
  pb::QueueChangeResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(method, stub, req, &resp, timeout, endpoint, /*wait_for_ready=*/false));
  return resp.changed();
}

}  // namespace

Result<uint32_t> MailQueueClient::Hold(const std::string& message_id, const std::string&) {
  return Change(&pb::QueueAdmin::Stub::QueueHold, *stub_, message_id, timeout_, endpoint_);
}

Result<uint32_t> MailQueueClient::Release(const std::string& message_id) {
  return Change(&pb::QueueAdmin::Stub::QueueRelease, *stub_, message_id, timeout_, endpoint_);
}

Result<uint32_t> MailQueueClient::Delete(const std::string& message_id, const std::string&) {
  return Change(&pb::QueueAdmin::Stub::QueueDelete, *stub_, message_id, timeout_, endpoint_);
}

Result<uint32_t> MailQueueClient::Retry(const std::string& domain) {
  pb::QueueRetryRequest req;
  req.set_domain(domain);
  pb::QueueChangeResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::QueueRetry, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  return resp.changed();
}

}  // namespace sg::keyservice
