// Test child for embedded_queue_test: opens the queue at argv[1], produces
// records "r<N>" to topic "t" from several threads, and prints "acked r<N>"
// (flushed) from each durable-ack callback, until it is killed.
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/embedded_queue.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  sg::queue::EmbeddedQueueOptions o;
  o.path = argv[1];
  auto q = sg::queue::EmbeddedQueue::Open(o);
  if (!q.ok()) {
    std::fprintf(stderr, "%s\n", q.error().ToString().c_str());
    return 1;
  }
  if (!(*q)->EnsureTopics({{"t", 4}}).ok()) return 1;
  auto producer = (*q)->CreateProducer();
  if (!producer.ok()) return 1;
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        std::string id = "r" + std::to_string(t) + "-" + std::to_string(i);
        sg::queue::OutRecord r;
        r.topic = "t";
        r.key = id;
        r.value = id;
        (*producer)->Produce(std::move(r), [&out_mu, id](sg::Status s) {
          if (!s.ok()) return;
          std::lock_guard<std::mutex> lock(out_mu);
          std::printf("acked %s\n", id.c_str());
          std::fflush(stdout);
        });
        // Killed at a random moment: a failed flush is part of the experiment.
        if (i % 16 == 15) (*producer)->Flush(std::chrono::seconds(5)).PermitUncheckedError();
      }
    });
  }
  for (auto& th : threads) th.join();
}
