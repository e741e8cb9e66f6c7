// bench/portal over HTTPS: page latency under concurrent clients, the cost
// of a login, and the request that must get through while idle connections
// are open.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "bench/portal/portal_bench_scenarios.h"
#include "portal/portal_password.h"
#include "portal/portal_store.h"

namespace sg::portal::bench {
namespace {

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

Latency Summarise(std::vector<double>& samples, size_t errors) {
  Latency l;
  l.requests = samples.size();
  l.errors = errors;
  l.p50 = Percentile(samples, 50);
  l.p99 = Percentile(samples, 99);
  return l;
}

struct PhaseSamples {
  std::mutex mu;
  std::vector<double> seconds;
  size_t errors = 0;
  void Add(const std::vector<double>& s, size_t e) {
    std::lock_guard<std::mutex> lock(mu);
    seconds.insert(seconds.end(), s.begin(), s.end());
    errors += e;
  }
};

// One client's share of a phase: `n` GETs of what `path` names.
void RunPhase(Client& client, size_t n, const std::function<std::string()>& path,
              PhaseSamples& into) {
  std::vector<double> s;
  size_t errors = 0;
  for (size_t i = 0; i < n; ++i) {
    double sec = 0;
    if (client.Get(path(), &sec) != 200) ++errors;
    s.push_back(sec);
  }
  into.Add(s, errors);
}

}  // namespace

PagesResult RunPages(BenchStage& stage, size_t clients, size_t requests_per_client,
                     size_t accounts, const std::string& password) {
  PagesResult out;
  out.clients = clients;
  PhaseSamples static_file, inbox, message;
  std::atomic<size_t> login_failures{0};
  std::barrier sync(static_cast<std::ptrdiff_t>(clients));
  auto client_main = [&](size_t i) {
    const std::string address = BenchStage::Recipient(i % std::max<size_t>(1, accounts));
    auto ids = stage.service().store().ListMessages(address, "", 50);
    Client client(stage.port());
    if (!client.Login(address, password) || !ids.ok() || ids->empty()) ++login_failures;
    std::mt19937 rng(static_cast<unsigned>(i));
    sync.arrive_and_wait();
    RunPhase(client, requests_per_client, [] { return std::string("/static/style.css"); },
             static_file);
    sync.arrive_and_wait();
    RunPhase(client, requests_per_client, [] { return std::string("/inbox"); }, inbox);
    sync.arrive_and_wait();
    RunPhase(client, requests_per_client, [&] {
      if (!ids.ok() || ids->empty()) return std::string("/m/none");
      return "/m/" + (*ids)[rng() % ids->size()].id();
    }, message);
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients; ++i) threads.emplace_back(client_main, i);
  for (auto& t : threads) t.join();
  out.static_file = Summarise(static_file.seconds, static_file.errors);
  out.inbox = Summarise(inbox.seconds, inbox.errors);
  out.message = Summarise(message.seconds, message.errors);
  if (login_failures > 0) out.problem = std::to_string(login_failures.load()) + " client(s) could not log in";
  return out;
}

LoginResult RunLogin(BenchStage& stage, size_t logins, const std::string& address,
                     const std::string& password) {
  LoginResult out;
  out.logins = logins;
  std::vector<double> login_s, page_s;
  double login_cpu = 0, page_cpu = 0;
  Client client(stage.port());
  for (size_t i = 0; i < logins; ++i) {
    std::string csrf, cookie;
    double cpu0 = ProcessCpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    const bool page = client.LoginPage(&csrf, &cookie);
    auto t1 = std::chrono::steady_clock::now();
    double cpu1 = ProcessCpuSeconds();
    const int status = page ? client.PostLogin(csrf, cookie, address, password) : 0;
    auto t2 = std::chrono::steady_clock::now();
    double cpu2 = ProcessCpuSeconds();
    if (status != 303) ++out.failures;
    page_s.push_back(std::chrono::duration<double>(t1 - t0).count());
    login_s.push_back(std::chrono::duration<double>(t2 - t1).count());
    page_cpu += cpu1 - cpu0;
    login_cpu += cpu2 - cpu1;
  }
  out.login_p50 = Percentile(login_s, 50);
  out.page_p50 = Percentile(page_s, 50);
  out.login_cpu = login_cpu / static_cast<double>(std::max<size_t>(1, logins));
  out.page_cpu = page_cpu / static_cast<double>(std::max<size_t>(1, logins));
  // One Argon2id verification with the production parameters, in process.
  PasswordHasher hasher;
  auto hashed = hasher.Hash(password);
  if (!hashed.ok()) {
    ++out.failures;
    return out;
  }
  const std::string hash = *hashed;
  double cpu0 = ProcessCpuSeconds();
  const int verifies = 3;
  int verified = 0;
  for (int i = 0; i < verifies; ++i) {
    auto ok = hasher.Verify(hash, password);
    verified += (ok.ok() && *ok) ? 1 : 0;
  }
  out.verify_cpu = (ProcessCpuSeconds() - cpu0) / verifies;
  if (verified != verifies) ++out.failures;
  if (out.failures > 0) out.problem = std::to_string(out.failures) + " login(s) failed";
  return out;
}

ExhaustionResult RunExhaustion(BenchStage& stage, size_t idle) {
  ExhaustionResult out;
  out.idle = idle;
  auto timed_get = [&](int* status) {
    Client fresh(stage.port(), std::chrono::seconds(60));
    double seconds = 0;
    *status = fresh.Get("/healthz", &seconds);
    return seconds;
  };
  out.baseline_seconds = timed_get(&out.baseline_status);
  // Connected TCP sockets that never send a byte (no TLS handshake).
  std::vector<int> sockets;
  for (size_t i = 0; i < idle; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(stage.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      sockets.push_back(fd);
    } else if (fd >= 0) {
      close(fd);
    }
  }
  out.seconds = timed_get(&out.status);
  for (int fd : sockets) close(fd);
  return out;
}

}  // namespace sg::portal::bench
