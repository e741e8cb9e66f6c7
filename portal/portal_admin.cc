#include "portal/portal_admin.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "portal/portal_expiry.h"

namespace sg::portal {

grpc::Status AdminStatus(const Error& e) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (e.code) {
    case ErrorCode::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case ErrorCode::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case ErrorCode::kUnavailable:
    case ErrorCode::kIoError:
    case ErrorCode::kTimeout: code = grpc::StatusCode::UNAVAILABLE; break;
    default: break;
  }
  return grpc::Status(code, e.message);
}

namespace {

void Fill(const pb::StoredMessage& m, pb::ListedMessage* out) {
  out->set_recipient(m.recipient());
  out->set_id(m.id());
  out->set_sender(m.sender());
  out->set_stored_at_ms(m.stored_at_ms());
  out->set_expires_at_ms(m.expires_at_ms());
  out->set_size(m.size());
  out->set_read(m.read());
  out->set_notified(m.notified());
  out->set_queue_message_id(m.queue_message_id());
  out->set_sender_domain(m.sender_domain());
}

bool SocketInUse(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool in_use = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return in_use;
}

}  // namespace

grpc::Status PortalAdminService::List(grpc::ServerContext*, const pb::ListRequest* req,
                                      pb::ListResponse* resp) {
  const size_t limit = req->limit() == 0 ? 1000 : req->limit();
  PortalStore& store = vault_.store();
  // --domain: the tenant, i.e. the hosted domain the messages came from.
  std::string domain;
  if (!req->domain().empty()) {
    auto d = mail::NormalizeDomain(req->domain());
    if (!d.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "--domain \"" + req->domain() + "\": " + d.error().message);
    }
    domain = *d;
  }
  const std::set<std::string> domains(req->sender_domains().begin(), req->sender_domains().end());
  // False once the limit is reached (the answer is then truncated).
  auto add = [&](const pb::StoredMessage& m) {
    if (!domain.empty() && m.sender_domain() != domain) return true;
    if (!domains.empty() && !domains.contains(m.sender_domain())) return true;
    if (static_cast<size_t>(resp->messages_size()) >= limit) {
      resp->set_truncated(true);
      return false;
    }
    Fill(m, resp->add_messages());
    return true;
  };
  if (!req->recipient().empty()) {
    const std::string rcpt = NormalizeRecipient(req->recipient());
    if (rcpt.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "--recipient \"" + req->recipient() + "\" is not an address");
    }
    std::string cursor;
    while (true) {
      auto list = store.ListMessages(rcpt, cursor, 1000);
      if (!list.ok()) return AdminStatus(list.error());
      for (const auto& m : *list) {
        if (!add(m)) return grpc::Status::OK;
      }
      if (list->size() < 1000) break;
      cursor = list->back().id();
    }
    return grpc::Status::OK;
  }
  std::string cursor;
  while (true) {
    auto batch = store.ScanMessages(cursor, 1000);
    if (!batch.ok()) return AdminStatus(batch.error());
    for (const auto& m : *batch) {
      if (!add(m)) return grpc::Status::OK;
    }
    if (batch->size() < 1000) break;
    cursor = ScanCursor(batch->back());
  }
  return grpc::Status::OK;
}

grpc::Status PortalAdminService::Purge(grpc::ServerContext*, const pb::PurgeRequest* req,
                                       pb::PurgeResponse* resp) {
  PortalStore& store = vault_.store();
  if (req->expired()) {
    auto report = RunExpiry(store, config_, clock_, &metrics_);
    if (!report.ok()) return AdminStatus(report.error());
    resp->set_messages(static_cast<uint32_t>(report->messages));
    audit_.Record("admin_purge_expired", "", "local", {}, std::to_string(report->messages));
    return grpc::Status::OK;
  }
  const std::string rcpt = NormalizeRecipient(req->recipient());
  if (rcpt.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name a recipient or --expired");
  }
  if (!req->id().empty()) {
    Status s = store.DeleteMessage(rcpt, req->id());
    if (!s.ok()) return AdminStatus(s.error());
    resp->set_messages(1);
  } else {
    while (true) {
      auto batch = store.ListMessages(rcpt, "", 500);
      if (!batch.ok()) return AdminStatus(batch.error());
      for (const auto& m : *batch) {
        Status s = store.DeleteMessage(rcpt, m.id());
        if (!s.ok() && s.error().code != ErrorCode::kNotFound) return AdminStatus(s.error());
      }
      resp->set_messages(resp->messages() + static_cast<uint32_t>(batch->size()));
      if (batch->size() < 500) break;
    }
  }
  metrics_.deleted.WithLabels({"admin"}).Inc(resp->messages());
  if (req->account()) {
    Status s = store.DeleteAccount(rcpt);
    if (!s.ok() && s.error().code != ErrorCode::kNotFound) return AdminStatus(s.error());
    resp->set_account_deleted(s.ok());
  }
  audit_.Record("admin_purge", rcpt, "local", req->id(),
                std::to_string(resp->messages()) + " messages" +
                    (resp->account_deleted() ? ", account" : ""));
  return grpc::Status::OK;
}

grpc::Status PortalAdminService::ResendLink(grpc::ServerContext*, const pb::ResendLinkRequest* req,
                                            pb::ResendLinkResponse* resp) {
  const std::string rcpt = NormalizeRecipient(req->recipient());
  PortalStore& store = vault_.store();
  Result<pb::StoredMessage> m = MakeError(ErrorCode::kNotFound, "no message for " + rcpt);
  if (!req->id().empty()) {
    m = store.GetMessage(rcpt, req->id());
  } else {
    auto newest = store.ListMessages(rcpt, "", 1);
    if (!newest.ok()) return AdminStatus(newest.error());
    if (!newest->empty()) m = newest->front();
  }
  if (!m.ok()) return AdminStatus(m.error());
  Status s = intake_.Notify(*m);
  if (!s.ok()) return AdminStatus(s.error());
  resp->set_id(m->id());
  resp->set_expires_ms(clock_.NowMs() + config_.link_ttl.count());
  audit_.Record("admin_resend_link", rcpt, "local", m->id());
  return grpc::Status::OK;
}

PortalAdminServer::PortalAdminServer(grpc::Service* service) : service_(service) {}

PortalAdminServer::~PortalAdminServer() { Stop(); }

Status PortalAdminServer::Start(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return MakeError(ErrorCode::kIoError, "portal.admin_socket: cannot create " + dir.string() +
                                              " (mode 0700)");
  }
  if (SocketInUse(path)) {
    return MakeError(ErrorCode::kUnavailable,
                     "portal.admin_socket: " + path + " is in use by another running portal");
  }
  ::unlink(path.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(service_);
  server_ = builder.BuildAndStart();
  if (!server_) {
    return MakeError(ErrorCode::kUnavailable, "portal.admin_socket: cannot listen on " + path);
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    Stop();
    return MakeError(ErrorCode::kIoError, "portal.admin_socket: cannot chmod 0600 " + path);
  }
  path_ = path;
  return OkStatus();
}

void PortalAdminServer::Stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    ::unlink(path_.c_str());
  }
}

}  // namespace sg::portal
