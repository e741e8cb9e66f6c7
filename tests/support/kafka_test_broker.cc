// smimegate-test-broker: a real Kafka-protocol broker for tests and for
// trying the distributed mode on one machine, built on librdkafka's mock
// cluster (rdkafka_mock.h). Listens on loopback only.
//
//   smimegate-test-broker [--brokers N] [--topic NAME:PARTITIONS]...
//
// Prints "bootstrap=<host:port,...>" on stdout once listening, then runs
// until SIGTERM or SIGINT. Commands on stdin (one per line) change it while
// it runs, so tests can take brokers down and bring them back:
//   down <broker-id>     disconnect the broker and refuse connections
//   up <broker-id>       accept connections again
//   topic <name> <partitions>   create a topic
// Each command is answered with "ok" or "error: ..." on stdout.
//
// Debian's librdkafka 2.0.2 mock cluster creates topics only through this
// API (it does not implement CreateTopics) and does not filter aborted
// transactions; smimegate relies on neither.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

bool CreateTopic(rd_kafka_mock_cluster_t* mc, const std::string& name, int partitions) {
  return rd_kafka_mock_topic_create(mc, name.c_str(), partitions, 1) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}
}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
    } else if (a == "--topic" && i + 1 < argc) {
      std::string t = argv[++i];
      auto colon = t.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "smimegate-test-broker: --topic wants NAME:PARTITIONS, got %s\n",
                     t.c_str());
        return 2;
      }
      topics.emplace_back(t.substr(0, colon), std::atoi(t.c_str() + colon + 1));
    } else {
      std::fprintf(stderr,
                   "usage: smimegate-test-broker [--brokers N] [--topic NAME:PARTITIONS]...\n");
      return 2;
    }
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  signal(SIGPIPE, SIG_IGN);

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) {
    std::fprintf(stderr, "smimegate-test-broker: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::fprintf(stderr, "smimegate-test-broker: cannot create the mock cluster\n");
    return 1;
  }
  for (const auto& [name, parts] : topics) {
    if (!CreateTopic(mc, name, parts)) {
      std::fprintf(stderr, "smimegate-test-broker: cannot create topic %s\n", name.c_str());
      return 1;
    }
  }
  std::printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);

  std::string buffer;
  bool stdin_open = true;
  while (!g_stop) {
    if (!stdin_open) {
      usleep(100 * 1000);
      continue;
    }
    pollfd p{0, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char chunk[256];
    ssize_t n = read(0, chunk, sizeof(chunk));
    if (n <= 0) {
      stdin_open = false;  // keep running; only a signal stops the broker
      continue;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::istringstream line(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
      std::string cmd;
      line >> cmd;
      bool ok = false;
      if (cmd == "down" || cmd == "up") {
        int id = 0;
        line >> id;
        ok = (cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id)
                            : rd_kafka_mock_broker_set_up(mc, id)) == RD_KAFKA_RESP_ERR_NO_ERROR;
      } else if (cmd == "topic") {
        std::string name;
        int parts = 0;
        line >> name >> parts;
        ok = !name.empty() && parts > 0 && CreateTopic(mc, name, parts);
      }
      std::printf(ok ? "ok\n" : "error: %s\n", cmd.c_str());
      std::fflush(stdout);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
