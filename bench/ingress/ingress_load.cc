// End-to-end load harness for the SMTP ingress: Postfix smtp-source drives
// the real server over loopback; results are ratios against a baseline run
// in the same process (1 loop, in-memory producer that acks at once).
//
// usage: ingress_load [messages] [sessions]
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/embedded_queue.h"
#include "ingress/ingress_server.h"
#include "tests/ingress/fake_producer.h"
#include "tests/support/temp_dir.h"

namespace {

using sg::ingress::IngressConfig;
using sg::ingress::IngressServer;
using sg::ingress::IngressTopics;

struct Scenario {
  const char* name;
  int threads;
  enum { kFake, kEmbeddedSync, kEmbeddedNoSync } producer;
};

double RunOnce(const Scenario& sc, int messages, int sessions) {
  sg::testing::TempDir dir;
  std::unique_ptr<sg::queue::EmbeddedQueue> q;
  std::unique_ptr<sg::queue::Producer> embedded;
  sg::ingress::testing::FakeProducer fake;
  sg::queue::Producer* producer = &fake;
  if (sc.producer != Scenario::kFake) {
    sg::queue::EmbeddedQueueOptions o;
    o.path = dir.Sub("q");
    o.sync = sc.producer == Scenario::kEmbeddedSync;
    auto opened = sg::queue::EmbeddedQueue::Open(o);
    if (!opened.ok()) std::abort();
    q = std::move(*opened);
    if (!q->EnsureTopics({{"inbound", 8}, {"outbound", 8}}).ok()) std::abort();
    embedded = std::move(*q->CreateProducer());
    producer = embedded.get();
  }
  IngressConfig config;
  config.hostname = "bench.example.org";
  config.threads = sc.threads;
  config.max_connections_per_ip = 1000;
  sg::ingress::ListenerConfig mx;
  mx.config_path = "ingress.listeners[0]";
  mx.name = "mx";
  mx.address = "127.0.0.1";
  mx.port = 0;
  mx.starttls = false;  // plaintext only: no certificate needed
  config.listeners = {mx};
  sg::metrics::Registry registry;
  IngressServer server(config, {"example.org"}, IngressTopics{}, *producer, registry);
  if (!server.Start().ok()) std::abort();
  std::string cmd = "/usr/sbin/smtp-source -s " + std::to_string(sessions) + " -m " +
                    std::to_string(messages) +
                    " -l 4096 -f s@remote.example -t u@example.org -M bench.client 127.0.0.1:" +
                    std::to_string(server.Port("mx")) + " >/dev/null 2>&1";
  auto t0 = std::chrono::steady_clock::now();
  int rc = std::system(cmd.c_str());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  server.Stop();
  if (rc != 0) {
    std::fprintf(stderr, "%s: smtp-source failed (%d)\n", sc.name, rc);
    std::exit(1);
  }
  return messages / secs;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  int messages = argc > 1 ? std::atoi(argv[1]) : 2000;
  int sessions = argc > 2 ? std::atoi(argv[2]) : 20;
  const Scenario scenarios[] = {
      {"baseline: 1 loop, in-memory ack", 1, Scenario::kFake},
      {"2 loops, in-memory ack", 2, Scenario::kFake},
      {"2 loops, embedded queue, no fsync", 2, Scenario::kEmbeddedNoSync},
      {"2 loops, embedded queue, fsync (production)", 2, Scenario::kEmbeddedSync},
  };
  double baseline = 0;
  std::printf("%d messages of 4 KiB over %d concurrent smtp-source sessions\n", messages,
              sessions);
  for (const Scenario& sc : scenarios) {
    // Best of three, to damp noise on a shared machine.
    double best = 0;
    for (int i = 0; i < 3; ++i) best = std::max(best, RunOnce(sc, messages, sessions));
    if (baseline == 0) baseline = best;
    std::printf("%-46s %8.0f msg/s  ratio %.2f\n", sc.name, best, best / baseline);
  }
  return 0;
}
