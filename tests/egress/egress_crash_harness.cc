// A runnable egress for the crash test: the embedded queue (synced, as in
// production) plus EgressService, configured from a YAML file. Runs until
// SIGTERM (graceful Stop) or until killed.
//
//   egress_crash_harness <data_dir> <config.yaml>
//
// Writes <data_dir>/harness.ready once egress is started, and its metrics
// to <data_dir>/metrics.txt after a graceful stop.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/config_node.h"
#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "egress/egress_config.h"
#include "egress/egress_service.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: egress_crash_harness <data_dir> <config.yaml>\n";
    return 2;
  }
  const std::string data_dir = argv[1];
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts

  auto doc = sg::config::ConfigDocument::LoadFile(argv[2]);
  if (!doc.ok()) {
    std::cerr << doc.error().ToString() << "\n";
    return 2;
  }
  auto section = doc->Root().Map("egress");
  if (!section.ok()) {
    std::cerr << section.error().ToString() << "\n";
    return 2;
  }
  auto cfg = sg::egress::ParseEgressConfig(*section, data_dir);
  if (!cfg.ok()) {
    std::cerr << cfg.error().ToString() << "\n";
    return 2;
  }
  sg::queue::EmbeddedQueueOptions qopts;
  qopts.path = data_dir + "/queue";
  auto queue = sg::queue::EmbeddedQueue::Open(qopts);
  if (!queue.ok()) {
    std::cerr << queue.error().ToString() << "\n";
    return 1;
  }
  auto st = (*queue)->EnsureTopics({{"deliver", 2}, {"retry", 2}, {"deadletter", 1}});
  if (!st.ok()) {
    std::cerr << st.error().ToString() << "\n";
    return 1;
  }
  sg::metrics::Registry registry;
  sg::egress::EgressService egress(*cfg, **queue, registry, "");
  st = egress.Start();
  if (!st.ok()) {
    std::cerr << st.error().ToString() << "\n";
    return 1;
  }
  std::ofstream(data_dir + "/harness.ready") << "ready\n";
  int sig = 0;
  sigwait(&set, &sig);
  egress.Stop();
  std::ofstream(data_dir + "/metrics.txt") << registry.Serialize();
  return 0;
}
