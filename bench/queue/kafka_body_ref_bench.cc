// Kafka mode, the body written once (issue 21): per message, what a deliver
// record that copies the body costs against one that refers to the inbound
// record (egress fetching it back by offset, SHA-256 on both sides), on the
// test broker (librdkafka's mock cluster in its own process), by body size.
// Where the two cross is workers.share_bodies_min_bytes' default.
//
//   kafka_body_ref_bench [--rounds N] [--batch K]
//
// For each size, rounds alternate copy / reference (A/B interleaved, same
// broker, same run); each round produces K deliver records (async, waiting
// for every ack), polls them with a group consumer (what egress does) and,
// for references, reads each inbound record by offset (Queue::ReadRecord,
// the dedicated reader) and checks its digest. Prints wall and this
// CPU per message of this process plus the broker's, and reference/copy
// ratios.
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka_queue.h"
#include "common/queue_body_ref.h"
#include "tests/support/kafka_broker_process.h"

namespace {

using namespace std::chrono_literals;
using sg::queue::OutRecord;

// CPU seconds of `pid` (utime + stime, /proc/<pid>/stat fields 14 and 15).
double ProcessCpu(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// This process and the test broker (its only child): the broker's share
// of a copy (storing and serving the body again) counts too.
pid_t g_broker = 0;
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6 +
         (g_broker > 0 ? ProcessCpu(g_broker) : 0.0);
}

struct Cost {
  double wall = 0;
  double cpu = 0;
  int messages = 0;
};

bool ProduceAll(sg::queue::Producer& p, std::vector<OutRecord> records) {
  std::vector<std::promise<bool>> acks(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    p.Produce(std::move(records[i]),
              [&acks, i](const sg::Status& st) { acks[i].set_value(st.ok()); });
  }
  bool ok = true;
  for (auto& a : acks) ok = a.get_future().get() && ok;
  return ok;
}

// One round: K deliver records of `size` body bytes (copy) or references to
// inbound records [first, first+K) (reference); polled; references resolved.
bool Round(sg::queue::Queue& q, sg::queue::Producer& p, sg::queue::Consumer& c,
           const std::string& body, bool reference, int64_t first, int k, Cost& cost) {
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  std::string digest;
  std::vector<OutRecord> out;
  for (int i = 0; i < k; ++i) {
    OutRecord r;
    r.topic = "deliver";
    r.key = "m";
    r.partition = 0;
    // A reference record carries envelope-sized data plus the digest the
    // worker computes for each one.
    if (reference) digest = sg::queue::BodyDigest(body);
    r.value = reference ? std::string(200, 'r') + digest : body;
    out.push_back(std::move(r));
  }
  if (!ProduceAll(p, std::move(out))) return false;
  int got = 0;
  while (got < k) {
    auto recs = c.Poll(static_cast<size_t>(k - got), 1s);
    if (!recs.ok()) return false;
    for (const auto& r : *recs) {
      ++got;
      if (!c.Commit({r.topic, r.partition}, r.offset + 1).ok()) return false;
    }
  }
  if (reference) {
    for (int i = 0; i < k; ++i) {
      auto rec = q.ReadRecord({"inbound", 0, first + i});
      if (!rec.ok() || sg::queue::BodyDigest(rec->value) != digest) return false;
    }
  }
  cost.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cost.cpu += CpuSeconds() - c0;
  cost.messages += k;
  return true;
}

}  // namespace

// A positive count from the command line, or `fallback` when it is not one.
static int Count(std::string_view text, int fallback) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() && v > 0 ? v : fallback;
}

int Run(int argc, char** argv) {
  int rounds = 6, k = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--rounds") rounds = Count(argv[i + 1], rounds);
    if (a == "--batch") k = Count(argv[i + 1], k);
  }
  sg::testing::KafkaBrokerProcess broker(SMIMEGATE_TEST_BROKER, {{"inbound", 1}, {"deliver", 1}});
  if (!broker.ok()) {
    std::cerr << "kafka_body_ref_bench: the test broker did not start\n";
    return 1;
  }
  {
    // The broker is this process's one child.
    std::ifstream children("/proc/self/task/" + std::to_string(getpid()) + "/children");
    children >> g_broker;
  }
  sg::queue::KafkaQueueOptions o;
  o.brokers = broker.bootstrap();
  // As bench/e2e does: the mock holds an empty fetch for the whole wait.
  o.properties["fetch.wait.max.ms"] = "10";
  auto q = sg::queue::KafkaQueue::Open(o);
  if (!q.ok()) return 1;
  auto p = (*q)->CreateProducer();
  auto c = (*q)->CreateConsumer("bench-egress", {"deliver"});
  if (!p.ok() || !c.ok()) return 1;
  std::printf("%10s %12s %12s %12s %12s %10s %10s\n", "body", "copy ms", "ref ms", "copy cpu ms",
              "ref cpu ms", "wall r/c", "cpu r/c");
  int64_t next_inbound = 0;
  for (size_t size :
       {4u << 10, 16u << 10, 32u << 10, 64u << 10, 128u << 10, 256u << 10, 1u << 20}) {
    const std::string body(size, 'b');
    Cost copy, ref;
    for (int r = 0; r < rounds; ++r) {
      // The inbound records the references name (written in both modes: not measured).
      std::vector<OutRecord> in;
      in.reserve(static_cast<size_t>(k));
      for (int i = 0; i < k; ++i) in.push_back({"inbound", "m", {}, body, 0});
      if (!ProduceAll(**p, std::move(in))) return 1;
      const bool ok = r % 2 == 0 ? Round(**q, **p, **c, body, false, next_inbound, k, copy) &&
                                       Round(**q, **p, **c, body, true, next_inbound, k, ref)
                                 : Round(**q, **p, **c, body, true, next_inbound, k, ref) &&
                                       Round(**q, **p, **c, body, false, next_inbound, k, copy);
      if (!ok) {
        std::cerr << "kafka_body_ref_bench: a round failed at " << size << " bytes\n";
        return 1;
      }
      next_inbound += k;
    }
    const double cw = copy.wall / copy.messages * 1e3, rw = ref.wall / ref.messages * 1e3;
    const double cc = copy.cpu / copy.messages * 1e3, rc = ref.cpu / ref.messages * 1e3;
    std::printf("%10zu %12.3f %12.3f %12.3f %12.3f %10.2f %10.2f\n", size, cw, rw, cc, rc, rw / cw,
                rc / cc);
  }
  (*c)->Close();
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "kafka_body_ref_bench: " << e.what() << "\n";
    return 1;
  }
}
