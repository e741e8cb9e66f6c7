#include "keyservice/rpc_server_credentials.h"

#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace sg::keyservice {
namespace {

std::string_view SliceView(const grpc_slice& s) {
  return std::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)),
                          GRPC_SLICE_LENGTH(s));
}

PeerIdentity PeerFromCore(const grpc_auth_context* context) {
  PeerIdentity peer;
  auto it = grpc_auth_context_find_properties_by_name(context, GRPC_X509_PEM_CERT_PROPERTY_NAME);
  peer.has_certificate = grpc_auth_property_iterator_next(&it) != nullptr;
  it = grpc_auth_context_find_properties_by_name(context, GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (const grpc_auth_property* p = grpc_auth_property_iterator_next(&it)) {
    peer.subject.assign(p->value, p->value_length);
  }
  it = grpc_auth_context_find_properties_by_name(context, GRPC_PEER_URI_PROPERTY_NAME);
  while (const grpc_auth_property* p = grpc_auth_property_iterator_next(&it)) {
    peer.uris.emplace_back(p->value, p->value_length);
  }
  return peer;
}

}  // namespace

PeerIdentity PeerFromAuthContext(const grpc::AuthContext& context) {
  PeerIdentity peer;
  peer.has_certificate = !context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty();
  auto subject = context.FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (!subject.empty()) peer.subject.assign(subject[0].data(), subject[0].size());
  for (const auto& uri : context.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    peer.uris.emplace_back(uri.data(), uri.size());
  }
  return peer;
}

Result<std::shared_ptr<ReloadableTlsCredentials>> ReloadableTlsCredentials::Create(
    std::unique_ptr<TlsMaterialSource> source, std::shared_ptr<RpcAuthorizer> authorizer,
    std::chrono::milliseconds poll_interval) {
  std::shared_ptr<ReloadableTlsCredentials> c(new ReloadableTlsCredentials());
  c->source_ = std::move(source);
  c->authorizer_ = std::move(authorizer);
  c->poll_interval_ = poll_interval;
  SG_ASSIGN_OR_RETURN(c->material_, c->source_->Load());
  c->generation_ = 1;
  c->next_poll_ = std::chrono::steady_clock::now() + poll_interval;
  // Ask for a client certificate; verify it when sent. Without one the
  // handshake succeeds and the authorizer answers UNAUTHENTICATED per call.
  grpc_ssl_server_credentials_options* options =
      grpc_ssl_server_credentials_create_options_using_config_fetcher(
          GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY, &ReloadableTlsCredentials::Fetch, c.get());
  c->creds_ = grpc_ssl_server_credentials_create_with_options(options);
  if (c->creds_ == nullptr) {
    return MakeError(ErrorCode::kInternal, "gRPC refused the TLS server credentials");
  }
  grpc_auth_metadata_processor processor{&ReloadableTlsCredentials::Process, nullptr, c.get()};
  grpc_server_credentials_set_auth_metadata_processor(c->creds_, processor);
  return c;
}

ReloadableTlsCredentials::~ReloadableTlsCredentials() {
  if (creds_ != nullptr) grpc_server_credentials_release(creds_);
}

void ReloadableTlsCredentials::SetAuthMetadataProcessor(
    const std::shared_ptr<grpc::AuthMetadataProcessor>&) {
  std::abort();  // the role check is the only processor; another one is a bug
}

int ReloadableTlsCredentials::AddPortToServer(const std::string& addr, grpc_server* server) {
  return grpc_server_add_http2_port(server, addr.c_str(), creds_);
}

Status ReloadableTlsCredentials::Reload() {
  std::lock_guard<std::mutex> lock(mu_);
  auto m = source_->Load();
  if (!m.ok()) return m.error();
  material_ = std::move(*m);
  ++generation_;
  spdlog::info("rpc: TLS certificates loaded again from {} (generation {})", source_->Describe(),
               generation_);
  return OkStatus();
}

uint64_t ReloadableTlsCredentials::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

grpc_ssl_certificate_config_reload_status ReloadableTlsCredentials::Fetch(
    void* self, grpc_ssl_server_certificate_config** config) {
  auto* c = static_cast<ReloadableTlsCredentials*>(self);
  std::lock_guard<std::mutex> lock(c->mu_);
  auto now = std::chrono::steady_clock::now();
  if (now >= c->next_poll_) {
    c->next_poll_ = now + c->poll_interval_;
    if (c->source_->Changed()) {
      auto m = c->source_->Load();
      if (m.ok()) {
        c->material_ = std::move(*m);
        ++c->generation_;
        spdlog::info("rpc: TLS certificates changed, loaded from {} (generation {})",
                     c->source_->Describe(), c->generation_);
      } else {
        spdlog::error("rpc: TLS certificates changed but do not load (the previous ones stay in "
                      "use): {}", m.error().message);
      }
    }
  }
  if (c->handed_ == c->generation_) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  grpc_ssl_pem_key_cert_pair pair{c->material_.private_key_pem.c_str(),
                                  c->material_.cert_chain_pem.c_str()};
  // Copies the strings.
  *config = grpc_ssl_server_certificate_config_create(c->material_.client_ca_pem.c_str(), &pair, 1);
  c->handed_ = c->generation_;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

void ReloadableTlsCredentials::Process(void* self, grpc_auth_context* context,
                                       const grpc_metadata* md, size_t num_md,
                                       grpc_process_auth_metadata_done_cb cb, void* user_data) {
  auto* c = static_cast<ReloadableTlsCredentials*>(self);
  std::string_view method;
  for (size_t i = 0; i < num_md; ++i) {
    if (SliceView(md[i].key) == ":path") method = SliceView(md[i].value);
  }
  RpcAuthorizer::Verdict v = c->authorizer_->Authorize(method, PeerFromCore(context));
  grpc_status_code code = GRPC_STATUS_OK;
  if (v.code == RpcAuthorizer::Code::kUnauthenticated) code = GRPC_STATUS_UNAUTHENTICATED;
  if (v.code == RpcAuthorizer::Code::kPermissionDenied) code = GRPC_STATUS_PERMISSION_DENIED;
  cb(user_data, nullptr, 0, nullptr, 0, code, code == GRPC_STATUS_OK ? nullptr : v.message.c_str());
}

}  // namespace sg::keyservice
