// Test tool for the crash tests (tests/integration/crash_shared_body_test.py):
// opens the embedded queue at argv[1] (the gateway stopped), runs one
// clean-up pass and prints, per topic named after it, the records still
// stored and the records pins keep:
//   <topic> stored <n> pinned <n>
#include <cstdio>
#include <string>

#include "common/embedded_queue.h"

namespace {

int Run(int argc, char** argv) {
  if (argc < 3) {
    (void)std::fprintf(stderr, "usage: queue_inspect_child <queue dir> <topic>...\n");
    return 2;
  }
  sg::queue::EmbeddedQueueOptions o;
  o.path = argv[1];
  auto q = sg::queue::EmbeddedQueue::Open(o);
  if (!q.ok()) {
    (void)std::fprintf(stderr, "%s\n", q.error().ToString().c_str());
    return 1;
  }
  (*q)->CleanupNow();
  for (int i = 2; i < argc; ++i) {
    const std::string topic = argv[i];
    auto parts = (*q)->PartitionCount(topic);
    if (!parts.ok()) {
      (void)std::fprintf(stderr, "%s\n", parts.error().ToString().c_str());
      return 1;
    }
    int64_t stored = 0;
    size_t pinned = 0;
    for (int32_t p = 0; p < *parts; ++p) {
      stored += (*q)->StoredRecords({topic, p});
      pinned += (*q)->PinnedRecords({topic, p});
    }
    (void)std::printf("%s stored %lld pinned %zu\n", topic.c_str(), static_cast<long long>(stored),
                      pinned);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (...) {
    (void)std::fprintf(stderr, "queue_inspect_child: unexpected exception\n");
    return 1;
  }
}
