#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "egress/egress_dedupe.h"
#include "egress/egress_deferred.h"
#include "egress/egress_maildir.h"
#include "egress/egress_offsets.h"
#include "tests/support/temp_dir.h"

namespace sg::egress {
namespace {

TEST(DedupeStore, RemembersDeliveriesAcrossReopen) {
  sg::testing::TempDir dir;
  {
    auto store = DedupeStore::Open(dir.Sub("dedupe"), std::chrono::hours(1));
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    auto seen = (*store)->Seen("m1", "f1", "bob@Example.COM");
    ASSERT_TRUE(seen.ok());
    EXPECT_FALSE(*seen);
    ASSERT_TRUE((*store)->MarkDelivered("m1", "f1", "bob@Example.COM").ok());
  }
  auto store = DedupeStore::Open(dir.Sub("dedupe"), std::chrono::hours(1));
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(*(*store)->Seen("m1", "f1", "bob@example.com"));   // domain case-insensitive
  EXPECT_FALSE(*(*store)->Seen("m1", "f1", "Bob@example.com"));  // local part is not
  EXPECT_FALSE(*(*store)->Seen("m1", "f2", "bob@example.com"));  // another form
  EXPECT_FALSE(*(*store)->Seen("m2", "f1", "bob@example.com"));
}

TEST(DedupeStore, UnwritablePathIsASpecificError) {
  auto store = DedupeStore::Open("/proc/egress-dedupe-cannot-exist", std::chrono::hours(1));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("egress.dedupe.path"), std::string::npos);
}

std::vector<std::string> List(const std::string& d) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(d)) out.push_back(e.path().string());
  return out;
}

MaildirDelivery Md(const std::string& rcpt, const std::string& form = "f1",
                   const std::string& id = "<m1@a.example>") {
  return MaildirDelivery{id, form, "alice@a.example", rcpt, 1700000000123};
}

TEST(Maildir, OneFilePerRecipientInNewWithEnvelopeHeaders) {
  sg::testing::TempDir dir;
  MaildirWriter md(dir.Sub("mail/inbound"));
  ASSERT_TRUE(md.Init().ok());
  auto a = md.Deliver(Md("bob@b.example"), "Subject: x\r\n\r\nhi\r\n");
  auto b = md.Deliver(Md("carol@b.example"), "Subject: x\r\n\r\nhi\r\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a && *b);
  auto files = List(dir.Sub("mail/inbound/new"));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_NE(files[0], files[1]);
  EXPECT_TRUE(List(dir.Sub("mail/inbound/tmp")).empty());
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("mail/inbound/cur")));
  std::ifstream in(files[0]);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str().rfind("Return-Path: <alice@a.example>\r\nDelivered-To: ", 0), 0u);
  EXPECT_NE(ss.str().find("Subject: x\r\n\r\nhi\r\n"), std::string::npos);
}

// Issue 23: a run killed after the Maildir write but before the dedupe
// record delivers the record again after restart; that must not make a
// second copy.
TEST(Maildir, TheSameDeliveryTwiceLeavesOneFile) {
  sg::testing::TempDir dir;
  MaildirWriter md(dir.Sub("mail"));
  ASSERT_TRUE(md.Init().ok());
  auto first = md.Deliver(Md("bob@b.example"), "hi\r\n");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  MaildirWriter restarted(dir.Sub("mail"));
  ASSERT_TRUE(restarted.Init().ok());
  auto again = restarted.Deliver(Md("bob@b.example"), "hi\r\n");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);  // there already
  EXPECT_EQ(List(dir.Sub("mail/new")).size(), 1u);
  EXPECT_TRUE(List(dir.Sub("mail/tmp")).empty());
  // Another form of the same message, or another message, is another copy.
  EXPECT_TRUE(*md.Deliver(Md("bob@b.example", "f2"), "hi\r\n"));
  EXPECT_TRUE(*md.Deliver(Md("bob@b.example", "f1", "<m2@a.example>"), "hi\r\n"));
  EXPECT_EQ(List(dir.Sub("mail/new")).size(), 3u);
}

TEST(Maildir, ACopyTheReaderMovedToCurIsNotDeliveredAgain) {
  sg::testing::TempDir dir;
  MaildirWriter md(dir.Sub("mail"));
  ASSERT_TRUE(md.Init().ok());
  ASSERT_TRUE(*md.Deliver(Md("bob@b.example"), "hi\r\n"));
  const std::string name = MaildirWriter::FileName(Md("bob@b.example"));
  EXPECT_EQ(name.rfind("1700000000.S", 0), 0u) << name;
  std::filesystem::rename(dir.Sub("mail/new/" + name), dir.Sub("mail/cur/" + name + ":2,S"));
  auto again = md.Deliver(Md("bob@b.example"), "hi\r\n");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_TRUE(List(dir.Sub("mail/new")).empty());
}

TEST(Maildir, InitRemovesOldLeftoversOfAKilledRunOnly) {
  sg::testing::TempDir dir;
  MaildirWriter md(dir.Sub("mail"));
  ASSERT_TRUE(md.Init().ok());
  const std::string old_tmp = dir.Sub("mail/tmp/sg-tmp.x.1.1");
  const std::string fresh_tmp = dir.Sub("mail/tmp/sg-tmp.y.1.2");
  const std::string foreign = dir.Sub("mail/tmp/1.2.otherwriter");
  for (const auto& f : {old_tmp, fresh_tmp, foreign}) std::ofstream(f) << "x";
  auto two_hours_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(old_tmp, two_hours_ago);
  std::filesystem::last_write_time(foreign, two_hours_ago);
  ASSERT_TRUE(md.Init().ok());
  EXPECT_FALSE(std::filesystem::exists(old_tmp));
  EXPECT_TRUE(std::filesystem::exists(fresh_tmp));  // may be another process's write in progress
  EXPECT_TRUE(std::filesystem::exists(foreign));    // not ours
}

TEST(DedupeStore, BatchWriteRecordsEveryRecipient) {
  sg::testing::TempDir dir;
  {
    auto store = DedupeStore::Open(dir.Sub("dedupe"), std::chrono::hours(1));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->MarkDelivered("m1", "f1", {"a@x.test", "b@x.test"}, /*sync=*/true).ok());
  }
  auto store = DedupeStore::Open(dir.Sub("dedupe"), std::chrono::hours(1));
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(*(*store)->Seen("m1", "f1", "a@x.test"));
  EXPECT_TRUE(*(*store)->Seen("m1", "f1", "b@X.test"));
  EXPECT_FALSE(*(*store)->Seen("m1", "f1", "c@x.test"));
}

TEST(OffsetTracker, CommitsOnlyTheContiguousDonePrefix) {
  OffsetTracker t;
  queue::TopicPartition tp{"deliver", 0};
  t.Add(tp, 10);
  t.Add(tp, 11);
  t.Add(tp, 12);
  // Nothing done yet: the point is 10, where reading started.
  EXPECT_TRUE(t.TakeCommits().empty());
  t.Done(tp, 11);
  EXPECT_TRUE(t.TakeCommits().empty());  // 10 still open
  t.Done(tp, 10);
  auto c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 12);
  t.Done(tp, 12);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 13);
  EXPECT_EQ(t.Open(), 0u);
}

TEST(OffsetTracker, ALostPartitionIsNotCommittedUntilItsRecordsComeAgain) {
  OffsetTracker t;
  queue::TopicPartition tp{"retry", 1};
  t.Add(tp, 5);  // waiting retries
  t.Add(tp, 6);
  t.Add(tp, 7);  // being attempted
  EXPECT_TRUE(t.IsOpen(tp, 6));
  EXPECT_FALSE(t.IsOpen(tp, 8));
  EXPECT_TRUE(t.TakeCommits().empty());  // 5: where reading started
  t.Lose(tp, {5, 6});
  EXPECT_FALSE(t.IsOpen(tp, 5));
  EXPECT_TRUE(t.IsOpen(tp, 7));  // still in hand: a read-again copy is skipped
  t.Done(tp, 7);
  // Dropping 5 and 6 must not let the commit point pass them while the
  // partition is another consumer's.
  EXPECT_TRUE(t.TakeCommits().empty());
  // It came back: read again from the last commit (5).
  t.Add(tp, 5);
  t.Add(tp, 6);
  EXPECT_TRUE(t.TakeCommits().empty());  // 5 again
  t.Done(tp, 5);
  t.Done(tp, 6);
  auto c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 8);  // 7 was done here while the partition was away
}

// Where reading of a partition starts (its first record, or the first one
// read again when it comes back) is the group's committed offset already:
// committing it again would cost a commit (and a dedupe sync) for nothing.
TEST(OffsetTracker, WhereReadingStartedIsNotCommittedAgain) {
  OffsetTracker t;
  queue::TopicPartition tp{"deliver", 0};
  t.Add(tp, 10);
  EXPECT_TRUE(t.TakeCommits().empty());
  t.Done(tp, 10);
  auto c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 11);
  t.Lose(tp, {});
  t.Add(tp, 20);  // back from another consumer, which committed 20
  EXPECT_TRUE(t.TakeCommits().empty());
  t.Done(tp, 20);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 21);
}

// A partition comes back while a record of it is still in hand (7) and the
// ones handed over with it (6) are not read again yet: the commit point must
// not pass 6, or a second rebalance (or a crash) would lose it.
TEST(OffsetTracker, ACommitNeverPassesAHandedOverRecordNotReadAgain) {
  OffsetTracker t;
  queue::TopicPartition tp{"retry", 1};
  t.Add(tp, 5);
  t.Add(tp, 6);  // a waiting retry, handed over
  t.Add(tp, 7);  // being attempted
  t.Lose(tp, {5, 6});
  t.Add(tp, 5);  // back: read again from the last commit, 6 not yet
  t.Done(tp, 5);
  auto c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 6) << "the commit passed the handed-over record 6";
  t.Done(tp, 7);
  EXPECT_TRUE(t.TakeCommits().empty()) << "7 done: still not past 6";
  EXPECT_TRUE(t.IsFinished(tp, 7));  // read again: not attempted twice
  EXPECT_FALSE(t.IsFinished(tp, 6));
  t.Add(tp, 6);
  t.Done(tp, 6);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 8);
}

// A partition restarted at an older committed offset (its commit was
// refused during a rebalance, and it came back to this consumer): what was
// finished here is known; what was handed over with the partition is not.
TEST(OffsetTracker, AFinishedRecordIsKnownUntilThePartitionGoesElsewhere) {
  OffsetTracker t;
  queue::TopicPartition tp{"deliver", 0};
  t.Add(tp, 3);
  t.Add(tp, 4);
  t.Done(tp, 3);
  EXPECT_TRUE(t.IsFinished(tp, 3));
  EXPECT_FALSE(t.IsFinished(tp, 4));  // open: in hand, not finished
  EXPECT_FALSE(t.IsFinished(tp, 5));  // never read
  EXPECT_FALSE(t.IsFinished(tp, 2));  // before this consumer's first record
  t.Done(tp, 4);
  t.Lose(tp, {});
  EXPECT_FALSE(t.IsFinished(tp, 3));  // another consumer's now
}

TEST(OffsetTracker, RecordsHandedOverAreNotFinishedWhenThePartitionComesBack) {
  OffsetTracker t;
  queue::TopicPartition tp{"retry", 1};
  t.Add(tp, 5);  // waiting retries, handed over
  t.Add(tp, 6);
  t.Add(tp, 7);  // being attempted, finished while the partition is away
  t.Lose(tp, {5, 6});
  t.Done(tp, 7);
  t.Add(tp, 5);  // back: read again from the last commit
  EXPECT_FALSE(t.IsFinished(tp, 6)) << "a handed-over retry would be skipped, and lost";
  t.Add(tp, 6);
  t.Done(tp, 5);
  EXPECT_TRUE(t.IsFinished(tp, 5));
}

TEST(OffsetTracker, AFailedCommitIsHandedOutAgainUnlessALaterOneCoversIt) {
  OffsetTracker t;
  queue::TopicPartition tp{"deliver", 1};
  t.Add(tp, 0);
  t.Done(tp, 0);
  auto c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 1);
  t.CommitFailed(tp, 1);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u) << "the refused commit point is not handed out again";
  EXPECT_EQ(c[0].second, 1);
  t.Add(tp, 1);
  t.Done(tp, 1);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 2);
  t.CommitFailed(tp, 1);  // an older point failing later: 2 covers it
  EXPECT_TRUE(t.TakeCommits().empty());
}

TEST(DeferredSet, DropPartitionRemovesOnlyThatPartitionHeldOrNot) {
  DeferredSet set;
  auto add = [&](int32_t partition, int64_t offset, bool held) {
    auto d = std::make_unique<Deferred>();
    d->tp = {"retry", partition};
    d->offset = offset;
    d->held = held;
    d->rec.mutable_envelope()->set_message_id("m" + std::to_string(offset));
    set.Add(std::move(d));
  };
  add(0, 1, false);
  add(1, 2, false);
  add(1, 3, true);
  add(0, 4, true);
  auto dropped = set.DropPartition({"retry", 1});
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_NE(set.At({"retry", 0}, 1), nullptr);
  EXPECT_EQ(set.At({"retry", 1}, 2), nullptr);
  EXPECT_EQ(set.At({"retry", 1}, 1), nullptr);  // partition and offset both count
  EXPECT_TRUE(set.DropPartition({"retry", 1}).empty());
}

}  // namespace
}  // namespace sg::egress
