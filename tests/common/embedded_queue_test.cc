// EmbeddedQueue specifics: persistence across restarts, crash safety,
// clean-up of committed records.
#include "common/embedded_queue.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<EmbeddedQueue> OpenAt(const std::string& path,
                                     const Clock* clock = nullptr) {
  EmbeddedQueueOptions o;
  o.path = path;
  o.clock = clock;
  o.cleanup_interval = std::chrono::hours(1);  // tests call CleanupNow
  auto q = EmbeddedQueue::Open(o);
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().ToString());
  return q.ok() ? std::move(*q) : nullptr;
}

void ProduceSync(Producer& p, const std::string& topic, const std::string& key,
                 const std::string& value) {
  std::promise<Status> done;
  OutRecord r;
  r.topic = topic;
  r.key = key;
  r.value = value;
  p.Produce(std::move(r), [&](Status s) { done.set_value(std::move(s)); });
  ASSERT_TRUE(done.get_future().get().ok());
}

std::vector<Record> Drain(Consumer& c) {
  std::vector<Record> out;
  while (true) {
    auto r = c.Poll(1000, 200ms);
    EXPECT_TRUE(r.ok());
    if (!r.ok() || r->empty()) return out;
    for (auto& rec : *r) out.push_back(std::move(rec));
  }
}

TEST(EmbeddedQueueTest, RecordsAndCommitsSurviveARestart) {
  testing::TempDir dir;
  {
    auto q = OpenAt(dir.Sub("q"));
    ASSERT_TRUE(q->EnsureTopics({{"t", 1}}).ok());
    auto p = q->CreateProducer();
    for (int i = 0; i < 10; ++i) ProduceSync(**p, "t", "k", std::to_string(i));
    auto c = q->CreateConsumer("g", {"t"});
    auto recs = Drain(**c);
    ASSERT_EQ(recs.size(), 10u);
    ASSERT_TRUE((*c)->Commit({"t", 0}, recs[4].offset + 1).ok());  // 0..4 done
  }
  auto q = OpenAt(dir.Sub("q"));
  ASSERT_TRUE(q->EnsureTopics({{"t", 1}}).ok());
  auto c = q->CreateConsumer("g", {"t"});
  auto recs = Drain(**c);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs.front().value, "5");
  EXPECT_EQ(recs.back().value, "9");
  // New records continue the offsets.
  auto p = q->CreateProducer();
  ProduceSync(**p, "t", "k", "10");
  auto more = Drain(**c);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].offset, 10);
}

TEST(EmbeddedQueueTest, CleanupRemovesRecordsEveryGroupCommittedAndKeepsOffsets) {
  testing::TempDir dir;
  {
    auto q = OpenAt(dir.Sub("q"));
    ASSERT_TRUE(q->EnsureTopics({{"t", 1}}).ok());
    auto p = q->CreateProducer();
    for (int i = 0; i < 6; ++i) ProduceSync(**p, "t", "k", std::to_string(i));
    auto g1 = q->CreateConsumer("g1", {"t"});
    auto g2 = q->CreateConsumer("g2", {"t"});
    auto r1 = Drain(**g1);
    auto r2 = Drain(**g2);
    ASSERT_EQ(r1.size(), 6u);
    ASSERT_TRUE((*g1)->Commit({"t", 0}, 6).ok());
    ASSERT_TRUE((*g2)->Commit({"t", 0}, 2).ok());
    EXPECT_EQ(q->CleanupNow(), 1u);
    EXPECT_EQ(q->StoredRecords({"t", 0}), 4);  // g2 still needs 2..5
    ASSERT_TRUE((*g2)->Commit({"t", 0}, 6).ok());
    q->CleanupNow();
    EXPECT_EQ(q->StoredRecords({"t", 0}), 0);
  }
  // Everything was trimmed; offsets must not restart at 0 (the groups would skip them).
  auto q = OpenAt(dir.Sub("q"));
  ASSERT_TRUE(q->EnsureTopics({{"t", 1}}).ok());
  auto p = q->CreateProducer();
  ProduceSync(**p, "t", "k", "new");
  auto g1 = q->CreateConsumer("g1", {"t"});
  auto recs = Drain(**g1);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].value, "new");
  EXPECT_EQ(recs[0].offset, 6);
}

// ReadRecord is a point lookup here (issue 21: egress resolves a body
// reference per relayed message): exactly the record asked for, in either
// column family, and kNotFound for what was never written or is gone.
TEST(EmbeddedQueueTest, ReadRecordFindsExactlyOneRecordInEitherColumnFamily) {
  testing::TempDir dir;
  auto q = OpenAt(dir.Sub("q"));
  ASSERT_TRUE(q->EnsureTopics({{"t", 2}, {"dead", 1, Retention{std::chrono::hours(1), 0}}}).ok());
  auto p = q->CreateProducer();
  for (int i = 0; i < 3; ++i) ProduceSync(**p, "t", "k" + std::to_string(i), std::to_string(i));
  ProduceSync(**p, "dead", "kd", "kept");
  const int32_t part = PartitionForKey("k1", 2);
  auto partition_records = q->ReadRange({"t", part}, 0, 10);
  ASSERT_TRUE(partition_records.ok());
  for (const auto& r : *partition_records) {
    auto one = q->ReadRecord({"t", part, r.offset});
    ASSERT_TRUE(one.ok()) << one.error().ToString();
    EXPECT_EQ(one->value, r.value);
    EXPECT_EQ(one->key, r.key);
    EXPECT_EQ(one->offset, r.offset);
    EXPECT_EQ(one->timestamp_ms, r.timestamp_ms);
  }
  auto dead = q->ReadRecord({"dead", 0, 0});
  ASSERT_TRUE(dead.ok()) << dead.error().ToString();
  EXPECT_EQ(dead->value, "kept");
  const auto end = static_cast<int64_t>(partition_records->size());
  EXPECT_EQ(q->ReadRecord({"t", part, end}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(q->ReadRecord({"t", part, -1}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(q->ReadRecord({"t", 2, 0}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(q->ReadRecord({"nope", 0, 0}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(q->DeleteBefore({"t", part}, end).ok());
  auto gone = q->ReadRecord({"t", part, 0});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_NE(gone.error().message.find("is gone"), std::string::npos) << gone.error().message;
}

using sg::testing::FakeClock;

std::vector<std::string> Values(EmbeddedQueue& q, const std::string& topic) {
  std::vector<std::string> out;
  auto recs = q.ReadRange({topic, 0}, 0, 1000);
  EXPECT_TRUE(recs.ok());
  if (recs.ok()) {
    for (auto& r : *recs) out.push_back(r.value);
  }
  return out;
}

// Issue 13 point 9: the dead-letter topic is bounded by age.
TEST(EmbeddedQueueTest, RetentionRemovesRecordsOlderThanMaxAge) {
  testing::TempDir dir;
  FakeClock clock;
  auto q = OpenAt(dir.Sub("q"), &clock);
  ASSERT_TRUE(q->EnsureTopics({{"dead", 1, Retention{std::chrono::hours(36), 0}}}).ok());
  auto p = q->CreateProducer();
  for (int i = 0; i < 3; ++i) ProduceSync(**p, "dead", "k", "old" + std::to_string(i));
  clock.Advance(std::chrono::hours(24));
  for (int i = 0; i < 2; ++i) ProduceSync(**p, "dead", "k", "new" + std::to_string(i));
  q->CleanupNow();
  EXPECT_EQ(Values(*q, "dead").size(), 5u);  // nothing is 36 h old yet
  clock.Advance(std::chrono::hours(13));      // the old ones are 37 h old
  q->CleanupNow();
  EXPECT_EQ(Values(*q, "dead"), (std::vector<std::string>{"new0", "new1"}));
  auto range = q->Offsets({"dead", 0});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->low, 3);
  EXPECT_EQ(range->high, 5);
}

// ... and by bytes, oldest first; commits never remove retained records.
TEST(EmbeddedQueueTest, RetentionKeepsAPartitionUnderMaxBytesAndIgnoresCommits) {
  testing::TempDir dir;
  FakeClock clock;
  auto q = OpenAt(dir.Sub("q"), &clock);
  ASSERT_TRUE(q->EnsureTopics({{"dead", 1, Retention{std::chrono::milliseconds(0), 3500}}}).ok());
  auto p = q->CreateProducer();
  for (int i = 0; i < 5; ++i) ProduceSync(**p, "dead", "k", std::string(1000, 'a' + i));
  auto c = q->CreateConsumer("g", {"dead"});
  auto recs = Drain(**c);
  ASSERT_EQ(recs.size(), 5u);
  ASSERT_TRUE((*c)->Commit({"dead", 0}, 5).ok());
  q->CleanupNow();
  auto left = Values(*q, "dead");
  ASSERT_EQ(left.size(), 3u);  // 5 x ~1 KB over 3.5 KB: the two oldest go
  EXPECT_EQ(left[0][0], 'c');
  EXPECT_EQ(left[2][0], 'e');
}

// What retention removed is gone from the files, not only hidden: a dead
// letter may hold decrypted mail.
TEST(EmbeddedQueueTest, ExpiredRecordsLeaveNoTraceOnDisk) {
  testing::TempDir dir;
  FakeClock clock;
  const std::string marker = "DECRYPTED-PLAINTEXT-MARKER-5b1c";
  auto q = OpenAt(dir.Sub("q"), &clock);
  ASSERT_TRUE(q->EnsureTopics({{"dead", 1, Retention{std::chrono::hours(1), 0}},
                               {"live", 1}}).ok());
  auto p = q->CreateProducer();
  ProduceSync(**p, "dead", "k", "secret " + marker + " secret");
  for (int i = 0; i < 50; ++i) ProduceSync(**p, "live", "k", std::string(10000, 'x'));
  auto contains_marker = [&] {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.Sub("q"))) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (data.find(marker) != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(contains_marker());  // in the WAL at least
  clock.Advance(std::chrono::hours(2));
  q->CleanupNow();
  EXPECT_TRUE(Values(*q, "dead").empty());
  bool gone = false;
  for (int i = 0; i < 50 && !(gone = !contains_marker()); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(gone) << "the expired record is still in a file of the database";
  EXPECT_EQ(Values(*q, "live").size(), 50u);
}

// A topic that had no retention gets one (an upgrade): its records move
// and keep their offsets; after a restart retention still applies.
TEST(EmbeddedQueueTest, RetentionAddedLaterAndAfterARestart) {
  testing::TempDir dir;
  FakeClock clock;
  {
    auto q = OpenAt(dir.Sub("q"), &clock);
    ASSERT_TRUE(q->EnsureTopics({{"dead", 1}}).ok());
    auto p = q->CreateProducer();
    for (int i = 0; i < 3; ++i) ProduceSync(**p, "dead", "k", std::to_string(i));
  }
  clock.Advance(std::chrono::hours(2));
  {
    auto q = OpenAt(dir.Sub("q"), &clock);
    ASSERT_TRUE(q->EnsureTopics({{"dead", 1, Retention{std::chrono::hours(1), 0}}}).ok());
    EXPECT_EQ(Values(*q, "dead"), (std::vector<std::string>{"0", "1", "2"}));
    auto p = q->CreateProducer();
    ProduceSync(**p, "dead", "k", "3");
  }
  auto q = OpenAt(dir.Sub("q"), &clock);
  ASSERT_TRUE(q->EnsureTopics({{"dead", 1, Retention{std::chrono::hours(1), 0}}}).ok());
  q->CleanupNow();  // 0..2 are two hours old
  EXPECT_EQ(Values(*q, "dead"), (std::vector<std::string>{"3"}));
  auto recs = q->ReadRange({"dead", 0}, 0, 10);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ((*recs)[0].offset, 3);
}

TEST(EmbeddedQueueTest, PartitionCountOfAnExistingTopicCannotChange) {
  testing::TempDir dir;
  auto q = OpenAt(dir.Sub("q"));
  ASSERT_TRUE(q->EnsureTopics({{"t", 2}}).ok());
  auto s = q->EnsureTopics({{"t", 3}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("2 partitions"), std::string::npos) << s.error().message;
}

TEST(EmbeddedQueueTest, OversizeRecordIsRefused) {
  testing::TempDir dir;
  EmbeddedQueueOptions o;
  o.path = dir.Sub("q");
  o.max_record_bytes = 1000;
  auto q = EmbeddedQueue::Open(o);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->EnsureTopics({{"t", 1}}).ok());
  auto p = (*q)->CreateProducer();
  std::promise<Status> done;
  OutRecord r;
  r.topic = "t";
  r.value = std::string(2000, 'x');
  (*p)->Produce(std::move(r), [&](Status s) { done.set_value(std::move(s)); });
  auto s = done.get_future().get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
}

TEST(EmbeddedQueueTest, ABusyDatabaseIsAClearError) {
  testing::TempDir dir;
  auto q = OpenAt(dir.Sub("q"));
  EmbeddedQueueOptions o;
  o.path = dir.Sub("q");
  auto second = EmbeddedQueue::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find(dir.Sub("q")), std::string::npos);
}

// A producer process is killed with SIGKILL while producing; every record it
// saw acknowledged must be there after a restart.
TEST(EmbeddedQueueTest, EveryAckedRecordSurvivesSigkillOfTheProducer) {
  testing::TempDir dir;
  std::string path = dir.Sub("q");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(QUEUE_CRASH_CHILD, QUEUE_CRASH_CHILD, path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  std::set<std::string> acked;
  char line[256];
  while (acked.size() < 3000 && std::fgets(line, sizeof(line), in)) {
    std::string s(line);
    if (s.rfind("acked ", 0) == 0) acked.insert(s.substr(6, s.size() - 7));
  }
  kill(pid, SIGKILL);
  // Acks printed before the kill but still in the pipe count too.
  while (std::fgets(line, sizeof(line), in)) {
    std::string s(line);
    if (s.rfind("acked ", 0) == 0) acked.insert(s.substr(6, s.size() - 7));
  }
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself: " << status;
  ASSERT_GE(acked.size(), 3000u);

  auto q = OpenAt(path);
  ASSERT_NE(q, nullptr);
  auto c = q->CreateConsumer("check", {"t"});
  ASSERT_TRUE(c.ok());
  std::set<std::string> stored;
  for (const auto& r : Drain(**c)) stored.insert(r.value);
  size_t missing = 0;
  for (const auto& id : acked) missing += stored.count(id) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged records";
}

// Commit returns before anything is written (issue 21: a RocksDB write on
// the caller's thread waited for the fsync in progress); the writer thread
// writes it soon after, with no produce and no Close to carry it: it
// survives a SIGKILL of the process that made it.
TEST(EmbeddedQueueTest, ACommitIsWrittenSoonWithoutAProduceOrAClose) {
  testing::TempDir dir;
  const std::string path = dir.Sub("q");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: no gtest assertions, an exit code per failure.
    EmbeddedQueueOptions o;
    o.path = path;
    auto q = EmbeddedQueue::Open(o);
    if (!q.ok() || !(*q)->EnsureTopics({{"t", 1}}).ok()) _exit(2);
    auto p = (*q)->CreateProducer();
    std::promise<Status> done;
    OutRecord r;
    r.topic = "t";
    r.key = "k";
    r.value = "v";
    (*p)->Produce(std::move(r), [&](Status st) { done.set_value(std::move(st)); });
    if (!done.get_future().get().ok()) _exit(3);
    auto c = (*q)->CreateConsumer("g", {"t"});
    if (!c.ok()) _exit(4);
    auto polled = (*c)->Poll(10, 1s);
    if (!polled.ok() || polled->size() != 1) _exit(5);
    if (!(*c)->Commit({"t", 0}, 1).ok()) _exit(6);
    std::this_thread::sleep_for(500ms);
    kill(getpid(), SIGKILL);
    _exit(7);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child failed with exit " << WEXITSTATUS(status);
  auto q = OpenAt(path);
  ASSERT_NE(q, nullptr);
  auto c = q->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c.ok());
  auto lag = (*c)->Lag();
  ASSERT_TRUE(lag.ok());
  ASSERT_EQ(lag->size(), 1u);
  EXPECT_EQ((*lag)[0].committed, 1) << "the commit was lost with the process";
  EXPECT_TRUE(Drain(**c).empty());
}

}  // namespace
}  // namespace sg::queue
