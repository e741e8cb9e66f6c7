#include "keyservice/queue_admin_grpc.h"

#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_status.h"

namespace sg::keyservice {
namespace pb = smimegate::v1;
namespace {

deadletter::Id FromPb(const pb::DeadLetterId& id) { return {id.partition(), id.offset()}; }

void ToPb(const deadletter::Id& id, pb::DeadLetterId* out) {
  out->set_partition(id.partition);
  out->set_offset(id.offset);
}

void ToPb(const deadletter::Entry& e, pb::DeadLetterEntry* out) {
  ToPb(e.id, out->mutable_id());
  out->set_timestamp_ms(e.timestamp_ms);
  out->set_key(e.key);
  out->set_reason(e.reason);
  out->set_source_topic(e.source_topic);
  out->set_stage(e.stage);
  out->set_mail_from(e.mail_from);
  for (const auto& r : e.recipients) out->add_recipients(r);
  out->set_message_bytes(e.message_bytes);
  for (const auto& h : e.headers) {
    auto* ph = out->add_headers();
    ph->set_key(h.key);
    ph->set_value(h.value);
  }
  out->set_value(e.value);
}

deadletter::Entry FromPb(const pb::DeadLetterEntry& p) {
  deadletter::Entry e;
  e.id = FromPb(p.id());
  e.timestamp_ms = p.timestamp_ms();
  e.key = p.key();
  e.reason = p.reason();
  e.source_topic = p.source_topic();
  e.stage = p.stage();
  e.mail_from = p.mail_from();
  e.recipients.assign(p.recipients().begin(), p.recipients().end());
  e.message_bytes = p.message_bytes();
  for (const auto& h : p.headers()) e.headers.push_back({h.key(), h.value()});
  e.value = p.value();
  return e;
}

}  // namespace

grpc::Status QueueAdminGrpc::ListDeadLetters(grpc::ServerContext*,
                                             const pb::ListDeadLettersRequest* req,
                                             pb::ListDeadLettersResponse* resp) {
  deadletter::ListOptions options;
  if (req->has_from()) options.from = FromPb(req->from());
  if (req->limit() > 0) options.limit = std::min<uint32_t>(req->limit(), 10000);
  auto r = admin_.List(options);
  if (!r.ok()) return ToGrpc(r.error());
  for (const auto& e : r->entries) ToPb(e, resp->add_entries());
  resp->set_held(r->held);
  return grpc::Status::OK;
}

grpc::Status QueueAdminGrpc::ShowDeadLetter(grpc::ServerContext*,
                                            const pb::ShowDeadLetterRequest* req,
                                            pb::DeadLetterEntry* resp) {
  auto r = admin_.Show(FromPb(req->id()));
  if (!r.ok()) return ToGrpc(r.error());
  ToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status QueueAdminGrpc::ReplayDeadLetter(grpc::ServerContext*,
                                              const pb::ReplayDeadLetterRequest* req,
                                              pb::ReplayDeadLetterResponse* resp) {
  auto r = admin_.Replay(FromPb(req->id()));
  if (!r.ok()) return ToGrpc(r.error());
  resp->set_topic(*r);
  return grpc::Status::OK;
}

grpc::Status QueueAdminGrpc::PurgeDeadLetters(grpc::ServerContext*,
                                              const pb::PurgeDeadLettersRequest* req,
                                              pb::PurgeDeadLettersResponse* resp) {
  deadletter::PurgeRequest p;
  switch (req->what_case()) {
    case pb::PurgeDeadLettersRequest::kAll: p.all = req->all(); break;
    case pb::PurgeDeadLettersRequest::kBefore: p.before = FromPb(req->before()); break;
    case pb::PurgeDeadLettersRequest::kOlderThanMs:
      p.older_than = std::chrono::milliseconds(req->older_than_ms());
      break;
    default: break;
  }
  auto r = admin_.Purge(p);
  if (!r.ok()) return ToGrpc(r.error());
  resp->set_removed(*r);
  return grpc::Status::OK;
}

QueueAdminClient::QueueAdminClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                                   std::chrono::milliseconds timeout)
    : stub_(pb::QueueAdmin::NewStub(std::move(channel))),
      endpoint_(std::move(endpoint)),
      timeout_(timeout) {}

Result<deadletter::ListResult> QueueAdminClient::List(const deadletter::ListOptions& options) {
  pb::ListDeadLettersRequest req;
  if (options.from) ToPb(*options.from, req.mutable_from());
  req.set_limit(options.limit);
  pb::ListDeadLettersResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::ListDeadLetters, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  deadletter::ListResult out;
  for (const auto& e : resp.entries()) out.entries.push_back(FromPb(e));
  out.held = resp.held();
  return out;
}

Result<deadletter::Entry> QueueAdminClient::Show(const deadletter::Id& id) {
  pb::ShowDeadLetterRequest req;
  ToPb(id, req.mutable_id());
  pb::DeadLetterEntry resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::ShowDeadLetter, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  return FromPb(resp);
}

Result<std::string> QueueAdminClient::Replay(const deadletter::Id& id) {
  pb::ReplayDeadLetterRequest req;
  ToPb(id, req.mutable_id());
  pb::ReplayDeadLetterResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::ReplayDeadLetter, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  return resp.topic();
}

Result<uint64_t> QueueAdminClient::Purge(const deadletter::PurgeRequest& request) {
  pb::PurgeDeadLettersRequest req;
  const int given = (request.all ? 1 : 0) + (request.before ? 1 : 0) + (request.older_than ? 1 : 0);
  if (given != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "purge wants exactly one of: all, before an id, older than an age");
  }
  if (request.all) req.set_all(true);
  if (request.before) ToPb(*request.before, req.mutable_before());
  if (request.older_than) req.set_older_than_ms(request.older_than->count());
  pb::PurgeDeadLettersResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::QueueAdmin::Stub::PurgeDeadLetters, *stub_, req, &resp, timeout_,
                               endpoint_, /*wait_for_ready=*/false));
  return resp.removed();
}

}  // namespace sg::keyservice
