// Egress throughput: N records on the deliver topic of an embedded queue
// (synced, as in production), delivered by EgressService to Postfix
// smtp-sink on loopback. Each configuration runs `reps` times on a fresh
// queue and sink; the result is the median time, printed as a ratio
// against the baseline (a new SMTP session for every message).
//
//   egress_load [messages=2000] [reps=3]
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/config_node.h"
#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "egress/egress_config.h"
#include "egress/egress_service.h"
#include "proto/envelope.pb.h"
#include "tests/support/temp_dir.h"

#include <spdlog/spdlog.h>

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

double RunOnce(int messages, int per_connection) {
  sg::testing::TempDir dir;
  const int port = FreePort();
  pid_t sink = fork();
  if (sink == 0) {
    std::string addr = "127.0.0.1:" + std::to_string(port);
    if (getuid() == 0) {
      execl("/usr/sbin/smtp-sink", "smtp-sink", "-u", "nobody", addr.c_str(), "256", nullptr);
    } else {
      execl("/usr/sbin/smtp-sink", "smtp-sink", addr.c_str(), "256", nullptr);
    }
    _exit(127);
  }
  while (!CanConnect(port)) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  sg::queue::EmbeddedQueueOptions qo;
  qo.path = dir.Sub("queue");
  auto q = sg::queue::EmbeddedQueue::Open(qo);
  if (!q.ok() || !(*q)->EnsureTopics({{"deliver", 8}, {"retry", 8}, {"deadletter", 1}}).ok()) {
    std::abort();
  }
  auto producer = std::move(*(*q)->CreateProducer());
  std::string body = "Subject: load\r\nMessage-ID: <x@load>\r\n\r\n" + std::string(1000, 'x') + "\r\n";
  std::vector<std::future<sg::Status>> acks;
  for (int i = 0; i < messages; ++i) {
    smimegate::v1::MessageRecord rec;
    auto* env = rec.mutable_envelope();
    env->set_message_id("load" + std::to_string(i));
    env->set_direction(smimegate::v1::DIRECTION_OUTBOUND);
    env->set_mail_from("a@org.test");
    env->add_recipients()->set_address("b@remote.test");
    rec.set_message(body);
    auto p = std::make_shared<std::promise<sg::Status>>();
    acks.push_back(p->get_future());
    producer->Produce({"deliver", env->message_id(), {}, rec.SerializeAsString(), {}},
                      [p](sg::Status st) { p->set_value(st); });
  }
  for (auto& a : acks) {
    if (!a.get().ok()) std::abort();
  }

  std::string yaml = "egress:\n  helo_name: load.test\n  poll_interval: 5ms\n"
                     "  smtp: {idle_timeout: 1s, max_messages_per_connection: " +
                     std::to_string(per_connection) + "}\n"
                     "  outbound: {transport: smtp, max_connections: 4, allowed_networks: [127.0.0.1/32],"
                     " hosts: [\"127.0.0.1:" +
                     std::to_string(port) + "\"]}\n";
  auto doc = sg::config::ConfigDocument::LoadString(yaml, "load.yaml");
  auto cfg = sg::egress::ParseEgressConfig(*doc->Root().Map("egress"), dir.path());
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.error().ToString().c_str());
    std::abort();
  }
  sg::metrics::Registry registry;
  auto& delivered = registry
                        .AddCounter("smimegate_egress_deliveries_total", "Recipient deliveries by outcome and route",
                                    {"outcome", "route"})
                        .WithLabels({"delivered", "outbound"});
  sg::egress::EgressService egress(*cfg, **q, registry, "");
  auto t0 = std::chrono::steady_clock::now();
  if (!egress.Start().ok()) std::abort();
  while (delivered.Value() < messages) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  egress.Stop();
  kill(sink, SIGTERM);
  waitpid(sink, nullptr, 0);
  return secs;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const int messages = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  struct Case {
    const char* name;
    int per_connection;
  };
  // Baseline first: a new SMTP session for every message (no reuse).
  const std::vector<Case> cases = {{"baseline: new session per message", 1},
                                   {"session reuse (100 per session)", 100}};
  std::vector<double> medians;
  for (const auto& c : cases) {
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) times.push_back(RunOnce(messages, c.per_connection));
    medians.push_back(Median(times));
  }
  std::printf("smimegate_egress_load: %d messages of 1 KB, 4 sessions, synced embedded queue, median of %d\n",
              messages, reps);
  for (size_t i = 0; i < cases.size(); ++i) {
    std::printf("  %-36s %8.3f s  %8.0f msg/s  throughput ratio %.2f\n", cases[i].name, medians[i],
                messages / medians[i], medians[0] / medians[i]);
  }
  return 0;
}
