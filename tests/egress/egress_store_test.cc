#include <dirent.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "egress/egress_dedupe.h"
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

TEST(Maildir, OneFilePerRecipientInNewWithEnvelopeHeaders) {
  sg::testing::TempDir dir;
  MaildirWriter md(dir.Sub("mail/inbound"));
  ASSERT_TRUE(md.Init().ok());
  ASSERT_TRUE(md.Deliver("alice@a.example", "bob@b.example", "Subject: x\r\n\r\nhi\r\n").ok());
  ASSERT_TRUE(md.Deliver("alice@a.example", "carol@b.example", "Subject: x\r\n\r\nhi\r\n").ok());
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

TEST(OffsetTracker, CommitsOnlyTheContiguousDonePrefix) {
  OffsetTracker t;
  queue::TopicPartition tp{"deliver", 0};
  t.Add(tp, 10);
  t.Add(tp, 11);
  t.Add(tp, 12);
  auto c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 10);  // nothing done yet
  t.Done(tp, 11);
  EXPECT_TRUE(t.TakeCommits().empty());  // 10 still open
  t.Done(tp, 10);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 12);
  t.Done(tp, 12);
  c = t.TakeCommits();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 13);
  EXPECT_EQ(t.Open(), 0u);
}

}  // namespace
}  // namespace sg::egress
