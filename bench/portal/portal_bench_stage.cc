#include "bench/portal/portal_bench_stage.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <mutex>
#include <regex>
#include <thread>

#include "portal/portal_mime.h"
#include "portal/portal_store.h"
#include "portal/portal_vault.h"
#include "proto/envelope.pb.h"
#include "tests/portal/portal_loopback_config.h"

namespace sg::portal::bench {

namespace v1 = smimegate::v1;

std::string BenchMessage(const std::string& rcpt, const std::string& subject, size_t bytes) {
  std::string text;
  const std::string line = "The quarterly figures are attached; the totals are in the table.\r\n";
  while (text.size() + line.size() < std::max<size_t>(bytes, 600) - 500) text += line;
  return "From: Alice <alice@corp.example>\r\n"
         "To: " + rcpt + "\r\n"
         "Subject: " + subject + "\r\n"
         "Message-ID: <" + subject + "@corp.example>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text +
         "--b1\r\nContent-Type: application/pdf; name=\"figures.pdf\"\r\n"
         "Content-Disposition: attachment; filename=\"figures.pdf\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n"
         "UERGLTEuNCBwcmV0ZW5kIAECAyBieXRlcw==\r\n"
         "--b1--\r\n";
}

std::string BenchRecord(const std::string& queue_id, const std::string& rcpt,
                        const std::string& message) {
  v1::MessageRecord r;
  r.mutable_envelope()->set_message_id(queue_id);
  r.mutable_envelope()->set_mail_from("alice@corp.example");
  r.mutable_envelope()->add_recipients()->set_address(rcpt);
  r.set_message(message);
  r.set_destination(v1::DESTINATION_PORTAL);
  return r.SerializeAsString();
}

BenchStage::BenchStage() = default;

BenchStage::~BenchStage() { Stop(); }

Status BenchStage::OpenQueue() {
  queue::EmbeddedQueueOptions q;
  q.path = dir_.Sub("queue");
  q.sync = true;  // as in production
  SG_ASSIGN_OR_RETURN(queue_, queue::EmbeddedQueue::Open(q));
  return queue_->EnsureTopics({{"portal", 1}, {"deliver", 1}, {"portal-reply", 1}, {"deadletter", 1},
                               {"relay-in", 1}, {"relay-out", 1}});
}

Status BenchStage::Start(const StageOptions& options) {
  if (!queue_) SG_RETURN_IF_ERROR(OpenQueue());
  testing::UseLoopbackDefaults(config_, dir_);
  if (options.intake_batch > 0) config_.intake_batch = options.intake_batch;
  if (options.threads > 0) config_.threads = options.threads;
  service_ = std::make_unique<PortalService>(
      config_, std::vector<std::string>{"corp.example"}, *queue_,
      PortalTopics{"portal", "deliver", "portal-reply", "deadletter"}, registry_, clock_,
      options.argon2, options.intake_threads);
  return service_->Start();
}

void BenchStage::Stop() {
  if (service_) service_->Stop();
  service_.reset();
}

Status BenchStage::ProduceAll(const std::string& topic, const std::vector<std::string>& values) {
  SG_ASSIGN_OR_RETURN(auto producer, queue_->CreateProducer());
  std::atomic<size_t> failed{0};
  for (size_t i = 0; i < values.size(); ++i) {
    producer->Produce({topic, "k" + std::to_string(i), {}, values[i], 0},
                      [&failed](const Status& s) {
                        if (!s.ok()) ++failed;
                      });
  }
  SG_RETURN_IF_ERROR(producer->Flush(std::chrono::minutes(5)));
  if (failed > 0) {
    return MakeError(ErrorCode::kUnavailable, std::to_string(failed.load()) + " records not acked");
  }
  return OkStatus();
}

int64_t BenchStage::EndOffset(const std::string& topic) {
  auto r = queue_->Offsets({topic, 0});
  return r.ok() ? r->high : -1;
}

std::string BenchStage::Recipient(size_t i) { return "r" + std::to_string(i) + "@partner.example"; }

Status BenchStage::Preload(size_t recipients, size_t per_recipient, size_t accounts,
                           const std::string& password, size_t message_bytes, int threads) {
  PortalVault& vault = service_->vault();
  const std::string body = BenchMessage("r@partner.example", "preloaded", message_bytes);
  const pb::Summary summary = ParseForPortal(body).summary;
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first = OkStatus();
  auto work = [&] {
    for (size_t n; (n = next++) < recipients * per_recipient;) {
      IncomingMessage in;
      in.recipient = Recipient(n % recipients);
      in.source_key = "preload-" + std::to_string(n) + "/" + in.recipient;
      in.queue_message_id = "preload-" + std::to_string(n);
      in.sender = "alice@corp.example";
      in.sender_domain = "corp.example";
      in.expires_at_ms = clock_.NowMs() + config_.defaults.retention.count();
      in.content = body;
      in.summary = summary;
      in.summary.set_subject("Preloaded " + std::to_string(n));
      auto put = vault.Store(in);
      if (!put.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = put.error();
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  SG_RETURN_IF_ERROR(first);
  PasswordHasher hasher;  // the production parameters, as the service verifies
  SG_ASSIGN_OR_RETURN(const std::string hash, hasher.Hash(password));
  for (size_t i = 0; i < std::min(accounts, recipients); ++i) {
    pb::Account a;
    a.set_address(Recipient(i));
    a.set_password_hash(hash);
    a.set_created_ms(clock_.NowMs());
    a.set_password_changed_ms(clock_.NowMs());
    a.set_domain("corp.example");
    SG_RETURN_IF_ERROR(vault.store().PutAccount(a));
  }
  return OkStatus();
}

Client::Client(int port, std::chrono::seconds timeout) : http_("127.0.0.1", port) {
  http_.enable_server_certificate_verification(false);
  http_.set_keep_alive(true);
  http_.set_tcp_nodelay(true);
  http_.set_connection_timeout(timeout);
  http_.set_read_timeout(timeout);
  http_.set_write_timeout(timeout);
}

namespace {

std::string CookieOf(const httplib::Result& r) {
  std::string out;
  for (size_t i = 0; i < r->get_header_value_count("Set-Cookie"); ++i) {
    const std::string set = r->get_header_value("Set-Cookie", i);
    out += (out.empty() ? "" : "; ") + set.substr(0, set.find(';'));
  }
  return out;
}

}  // namespace

bool Client::LoginPage(std::string* csrf, std::string* cookie) {
  auto page = http_.Get("/login");
  if (!page || page->status != 200) return false;
  std::smatch m;
  if (!std::regex_search(page->body, m, std::regex("name=\"csrf\" value=\"([^\"]+)\""))) return false;
  *csrf = m[1].str();
  *cookie = CookieOf(page);
  return true;
}

int Client::PostLogin(const std::string& csrf, const std::string& cookie,
                      const std::string& address, const std::string& password) {
  auto r = http_.Post("/login", {{"Cookie", cookie}},
                      httplib::Params{{"csrf", csrf}, {"address", address}, {"password", password}});
  if (!r) return 0;
  if (r->status == 303) cookie_ = CookieOf(r);
  return r->status;
}

bool Client::Login(const std::string& address, const std::string& password) {
  std::string csrf, cookie;
  return LoginPage(&csrf, &cookie) && PostLogin(csrf, cookie, address, password) == 303;
}

int Client::Get(const std::string& path, double* seconds) {
  const auto started = std::chrono::steady_clock::now();
  httplib::Headers headers;
  if (!cookie_.empty()) headers.emplace("Cookie", cookie_);
  auto r = http_.Get(path, headers);
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r ? r->status : 0;
}

double Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank =
      static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace sg::portal::bench
