// The SMTP ingress server (issue 3): listeners from config, one libuv loop
// per thread (threads = cores by default) sharing each port through
// SO_REUSEPORT, STARTTLS, AUTH, and the queue hand-off that answers 250
// only after the durable ack.
//
// Wiring (cmd/smimegate `run` and `ingress`):
//   auto server = std::make_unique<ingress::IngressServer>(
//       ingress_config, app.hosted_domains,
//       ingress::IngressTopics{queue_cfg.Topic(topics::kInbound),
//                              queue_cfg.Topic(topics::kOutbound)},
//       *producer, registry);
//   SIGHUP -> server->Reload();
//
// Threading: Start/Stop/Reload from the main thread; Ready/Port from any.
// Ownership: the producer, registry and authenticator outlive the server.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/queue.h"
#include "common/service.h"
#include "ingress/ingress_auth.h"
#include "ingress/ingress_blocking_pool.h"
#include "ingress/ingress_byte_budget.h"
#include "ingress/ingress_config.h"
#include "ingress/ingress_envelope.h"
#include "ingress/ingress_loop.h"
#include "ingress/ingress_metrics.h"
#include "ingress/ingress_steps.h"

namespace sg::ingress {

// Full topic names, prefix included (queue::QueueConfig::Topic).
struct IngressTopics {
  std::string inbound = "inbound";    // mail accepted on mx listeners
  std::string outbound = "outbound";  // mail accepted on relay listeners
};

class IngressServer : public Service {
 public:
  // hosted_domains: the top-level list; an mx listener accepts only these
  // recipient domains, a relay listener only these sender domains.
  // authenticator: null means the Argon2Authenticator over
  // config.auth_users. ids: null means ULIDs.
  IngressServer(IngressConfig config, std::vector<std::string> hosted_domains,
                IngressTopics topics, queue::Producer& producer, metrics::Registry& registry,
                std::shared_ptr<Authenticator> authenticator = nullptr,
                std::shared_ptr<MessageIdGenerator> ids = nullptr);
  ~IngressServer() override;

  std::string Name() const override { return "ingress"; }
  // Loads TLS material and binds every listener. A taken port is
  // kUnavailable: "ingress.listeners[0] (mx): 127.0.0.1:25 is already in use".
  Status Start() override;
  // Stops accepting; sessions in a transaction get timeouts.shutdown_grace
  // to finish (idle ones get 421 4.3.2 at once), then are closed. Returns
  // once no AUTH check or recipient lookup runs any more.
  void Stop() override;
  // Closes the listeners and starts the shutdown grace now, without waiting.
  void RequestStop() override;
  bool Ready() const override { return ready_.load(); }

  // The keyservice's user registry for recipient verification's "registry"
  // source (not owned; outlives the server). Call before Start().
  void SetUserRegistry(UserRegistry* registry) { user_registry_ = registry; }

  // Replaces the hosted domains MX listeners accept mail for (the
  // keyservice's registry, followed by the composition root): effective for
  // the next RCPT of every session. Thread-safe; callable before Start.
  // `domains`: domain (lower case) -> the id of the tenant owning it
  // (relay clients bound to a tenant, ingress_sender_binding.h).
  void ReplaceHostedDomains(HostedDomains::Map domains);
  size_t HostedDomainCount() const { return runtime_domains_->size(); }
  // Replaces the relay clients bound to tenants in the keyservice registry
  // (ingress_sender_binding.h): effective for the next MAIL. Thread-safe.
  void ReplaceRegistryBindings(RegistryBindings bindings) {
    runtime_domains_->ReplaceBindings(std::move(bindings));
  }

  // Re-reads every listener's certificate and key and the recipient lists
  // (SIGHUP). New connections use the new ones; on error the old ones stay
  // and the error is returned.
  Status Reload();

  // The port a listener is bound to (useful with port 0); 0 if unknown.
  uint16_t Port(const std::string& listener) const;
  size_t ConnectionCount() const { return limiter_.total(); }

 private:
  Status Bind(ListenerRuntime& rt, int count, std::vector<int>* fds);
  Status BuildRecipientVerifier(const std::set<std::string>& hosted);
  Result<ListenerTlsConfig> SelfSignedFiles(const ListenerConfig& l);

  IngressConfig config_;
  std::vector<std::string> hosted_domains_;
  std::shared_ptr<HostedDomains> runtime_domains_;  // starts as hosted_domains_
  IngressTopics topics_;
  queue::Producer& producer_;
  IngressMetrics metrics_;
  std::shared_ptr<Authenticator> authenticator_;
  std::shared_ptr<MessageIdGenerator> ids_;
  ConnectionLimiter limiter_;
  ByteBudget budget_;
  FailureLimiter auth_user_limit_;
  FailureLimiter auth_client_limit_;
  std::unique_ptr<BlockingPool> auth_pool_;
  std::unique_ptr<BlockingPool> recipient_pool_;
  FailureLimiter rcpt_limit_;
  UserRegistry* user_registry_ = nullptr;
  std::unique_ptr<RecipientVerifier> verifier_;
  std::vector<std::unique_ptr<ListenerRuntime>> listeners_;
  std::vector<std::unique_ptr<IngressLoop>> loops_;
  std::atomic<bool> ready_{false};
  bool started_ = false;
};

}  // namespace sg::ingress
