// Embedded queue append+sync throughput for 10 KB records with 1, 8 and 64
// concurrent producers, each waiting for its durable ack before producing the
// next record (as SMTP sessions do), against a baseline measured in the same
// run: the same producers appending to a plain file, with one writer thread
// doing write()+fdatasync() per batch of whatever is pending (ideal group
// commit with no database at all).
//
// Run: build/bench/queue/queue_bench --benchmark_repetitions=3
// The ratio to quote is items_per_second(EmbeddedQueue) / items_per_second(FileBaseline)
// for the same producer count.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/embedded_queue.h"

namespace {

constexpr size_t kRecordBytes = 10 * 1024;
constexpr int kRecordsPerRun = 2000;

std::string MakeTempDir() {
  std::string t = "/tmp/smimegate-bench-XXXXXX";
  if (!mkdtemp(t.data())) std::abort();
  return t;
}

// N threads share kRecordsPerRun produce->wait-for-ack round trips.
template <typename ProduceAndWait>
void RunProducers(int producers, ProduceAndWait produce) {
  std::vector<std::thread> threads;
  int per = kRecordsPerRun / producers;
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) produce(t, i);
    });
  }
  for (auto& th : threads) th.join();
}

void BM_EmbeddedQueue(benchmark::State& state) {
  int producers = static_cast<int>(state.range(0));
  std::string dir = MakeTempDir();
  sg::queue::EmbeddedQueueOptions o;
  o.path = dir + "/q";
  auto q = sg::queue::EmbeddedQueue::Open(o);
  if (!q.ok() || !(*q)->EnsureTopics({{"t", 8}}).ok()) {
    state.SkipWithError("cannot open queue");
    return;
  }
  auto p = (*q)->CreateProducer();
  std::string value(kRecordBytes, 'x');
  for (auto _ : state) {
    RunProducers(producers, [&](int t, int i) {
      std::promise<void> done;
      sg::queue::OutRecord r;
      r.topic = "t";
      r.key = std::to_string(t) + ":" + std::to_string(i);
      r.value = value;
      (*p)->Produce(std::move(r), [&](sg::Status s) {
        if (!s.ok()) std::abort();
        done.set_value();
      });
      done.get_future().wait();
    });
  }
  state.SetItemsProcessed(state.iterations() * (kRecordsPerRun / producers) * producers);
  state.SetBytesProcessed(state.items_processed() * kRecordBytes);
  q->reset();
  std::filesystem::remove_all(dir);
}

// The baseline: a raw append-only file with group commit.
class FileLog {
 public:
  explicit FileLog(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd_ < 0) std::abort();
    writer_ = std::thread([this] { Loop(); });
  }
  ~FileLog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
    ::close(fd_);
  }
  void AppendAndWait(const std::string& data) {
    std::promise<void> done;
    {
      std::lock_guard<std::mutex> l(mu_);
      pending_.push_back({&data, &done});
    }
    cv_.notify_one();
    done.get_future().wait();
  }

 private:
  struct Item {
    const std::string* data;
    std::promise<void>* done;
  };
  void Loop() {
    std::vector<Item> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) return;
        batch.assign(pending_.begin(), pending_.end());
        pending_.clear();
      }
      for (const auto& it : batch) {
        if (::write(fd_, it.data->data(), it.data->size()) < 0) std::abort();
      }
      if (::fdatasync(fd_) != 0) std::abort();
      for (auto& it : batch) it.done->set_value();
      batch.clear();
    }
  }
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> pending_;
  bool stop_ = false;
  std::thread writer_;
};

void BM_FileBaseline(benchmark::State& state) {
  int producers = static_cast<int>(state.range(0));
  std::string dir = MakeTempDir();
  std::string value(kRecordBytes, 'x');
  {
    FileLog log(dir + "/log");
    for (auto _ : state) {
      RunProducers(producers, [&](int, int) { log.AppendAndWait(value); });
    }
  }
  state.SetItemsProcessed(state.iterations() * (kRecordsPerRun / producers) * producers);
  state.SetBytesProcessed(state.items_processed() * kRecordBytes);
  std::filesystem::remove_all(dir);
}

}  // namespace

BENCHMARK(BM_FileBaseline)->Arg(1)->Arg(8)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EmbeddedQueue)->Arg(1)->Arg(8)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
