// The portal stage for bench/portal (docs/benchmarks.md "Portal"): an
// embedded queue synced as in production, a PortalService with the
// production defaults (threads, timeouts, Argon2id parameters unless told
// otherwise) on a free loopback port, and the HTTPS client helpers the
// scenarios share (log in, GET with timing).
//
// Threading: Start/Stop and the preload from the main thread; Client objects
// are one per thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "portal/portal_config.h"
#include "portal/portal_password.h"
#include "portal/portal_service.h"
#include "tests/support/temp_dir.h"

namespace sg::portal::bench {

// One portal message of about `bytes` bytes (text plus a small attachment)
// from alice@corp.example to `rcpt`.
std::string BenchMessage(const std::string& rcpt, const std::string& subject, size_t bytes);
// A web-encryption queue record for `rcpt` carrying `message`.
std::string BenchRecord(const std::string& queue_id, const std::string& rcpt,
                        const std::string& message);

struct StageOptions {
  Argon2Params argon2;        // production default: t=3, 64 MiB, p=1
  int threads = 0;            // 0: PortalConfig's default
  int intake_threads = 1;     // the portal topic has one partition
  int intake_batch = 0;       // 0: PortalConfig's default (portal.intake_batch)
};

class BenchStage {
 public:
  BenchStage();
  ~BenchStage();

  queue::EmbeddedQueue& queue() { return *queue_; }
  PortalService& service() { return *service_; }
  const PortalConfig& config() const { return config_; }
  metrics::Registry& registry() { return registry_; }
  int port() const { return service_->port(); }

  // The queue alone (synced); Start opens it when this was not called.
  Status OpenQueue();
  Status Start(const StageOptions& options);
  void Stop();

  // Produces every value to `topic` (partition 0) and waits for all acks.
  Status ProduceAll(const std::string& topic, const std::vector<std::string>& values);
  // The end offset of `topic` partition 0.
  int64_t EndOffset(const std::string& topic);

  // Stores `per_recipient` messages for each of `recipients` addresses
  // ("r<i>@partner.example") through the vault, from `threads` threads; the
  // first `accounts` recipients get an account with `password`.
  Status Preload(size_t recipients, size_t per_recipient, size_t accounts,
                 const std::string& password, size_t message_bytes, int threads);
  static std::string Recipient(size_t i);

 private:
  sg::testing::TempDir dir_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  metrics::Registry registry_;
  sg::SystemClock clock_;
  PortalConfig config_;
  std::unique_ptr<PortalService> service_;
};

// An HTTPS client of the portal with keep-alive and a session cookie.
class Client {
 public:
  explicit Client(int port, std::chrono::seconds timeout = std::chrono::seconds(30));
  // GET /login, then POST /login; true on 303.
  bool Login(const std::string& address, const std::string& password);
  // One GET; the status (0 when the request failed) and its latency.
  int Get(const std::string& path, double* seconds);
  // The CSRF token and cookie of a fresh /login page (for login timing).
  bool LoginPage(std::string* csrf, std::string* cookie);
  int PostLogin(const std::string& csrf, const std::string& cookie, const std::string& address,
                const std::string& password);
  const std::string& cookie() const { return cookie_; }

 private:
  httplib::SSLClient http_;
  std::string cookie_;
};

// p-th percentile (0..100) of `samples` (sorted in place); 0 when empty.
double Percentile(std::vector<double>& samples, double p);

}  // namespace sg::portal::bench
