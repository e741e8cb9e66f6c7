// The PortalStore contract (portal/portal_store.h), run over both
// implementations: the in-memory store and the RocksDB store (also across a
// reopen, the durability the intake relies on).
#include "portal/portal_store.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <ostream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "portal/portal_store_memory.h"
#include "portal/portal_store_rocksdb.h"
#include "tests/support/temp_dir.h"

namespace sg::portal {
namespace {

struct Backend {
  std::string name;
  bool persistent;
};

// Names the backend in test listings (instead of its bytes).
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class PortalStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    if (GetParam().persistent) {
      auto s = RocksDbPortalStore::Open(dir_.Sub("portal"));
      ASSERT_TRUE(s.ok()) << s.error().ToString();
      store_ = std::move(*s);
    } else if (!memory_) {
      memory_ = true;
      store_ = std::make_unique<MemoryPortalStore>();
    }
  }
  static pb::StoredMessage Msg(const std::string& rcpt, const std::string& id,
                               const std::string& source, int64_t expires = 1000) {
    pb::StoredMessage m;
    m.set_recipient(rcpt);
    m.set_id(id);
    m.set_source_key(source);
    m.set_expires_at_ms(expires);
    m.set_sender("alice@corp.example");
    return m;
  }

  sg::testing::TempDir dir_;
  bool memory_ = false;
  std::unique_ptr<PortalStore> store_;
};

TEST_P(PortalStoreContract, PutIsIdempotentOnTheSourceKey) {
  auto first = store_->PutMessage(Msg("bob@p.example", "0001", "q1/bob@p.example"), "sealed-1");
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(first->created);
  auto again = store_->PutMessage(Msg("bob@p.example", "0002", "q1/bob@p.example"), "sealed-2");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->message.id(), "0001");
  EXPECT_EQ(*store_->CountMessages("bob@p.example"), 1u);
  EXPECT_EQ(*store_->GetContent("bob@p.example", "0001"), "sealed-1");
  auto found = store_->FindBySource("q1/bob@p.example");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id(), "0001");
  EXPECT_FALSE(store_->FindBySource("q2/bob@p.example")->has_value());
}

TEST_P(PortalStoreContract, AnotherRecipientsIdIsNotFound) {
  ASSERT_TRUE(store_->PutMessage(Msg("bob@p.example", "0001", "q1/b"), "c").ok());
  EXPECT_EQ(store_->GetMessage("eve@p.example", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetContent("eve@p.example", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->DeleteMessage("eve@p.example", "0001").error().code, ErrorCode::kNotFound);
  // A recipient whose address is a prefix of another's sees none of its mail.
  EXPECT_EQ(store_->GetMessage("bob@p.example.org", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetMessage("bob@p", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListMessages("bob@p", "", 10)->empty());
  EXPECT_TRUE(store_->GetMessage("bob@p.example", "0001").ok());
}

TEST_P(PortalStoreContract, ListIsNewestFirstAndPages) {
  for (int i = 1; i <= 5; ++i) {
    const std::string id = "000" + std::to_string(i);
    ASSERT_TRUE(store_->PutMessage(Msg("bob@p.example", id, "q" + id), "c" + id).ok());
  }
  ASSERT_TRUE(store_->PutMessage(Msg("bob@p.example.org", "0009", "qx"), "x").ok());
  auto page1 = store_->ListMessages("bob@p.example", "", 2);
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].id(), "0005");
  EXPECT_EQ((*page1)[1].id(), "0004");
  auto page2 = store_->ListMessages("bob@p.example", "0004", 10);
  ASSERT_EQ(page2->size(), 3u);
  EXPECT_EQ((*page2)[0].id(), "0003");
  EXPECT_EQ((*page2)[2].id(), "0001");
  EXPECT_EQ(*store_->CountMessages("bob@p.example"), 5u);
}

TEST_P(PortalStoreContract, FlagsChangeOneAtATimeAndDeleteRemovesTheMessage) {
  ASSERT_TRUE(store_->PutMessage(Msg("bob@p.example", "0001", "q1"), "content").ok());
  ASSERT_TRUE(store_->MarkRead("bob@p.example", "0001").ok());
  ASSERT_TRUE(store_->MarkNotified({"bob@p.example" + std::string(1, '\0') + "0001"}).ok());
  auto got = store_->GetMessage("bob@p.example", "0001");
  EXPECT_TRUE(got->read());
  EXPECT_TRUE(got->notified());
  EXPECT_EQ(got->sender(), "alice@corp.example");
  ASSERT_TRUE(store_->DeleteMessage("bob@p.example", "0001").ok());
  EXPECT_EQ(store_->GetMessage("bob@p.example", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetContent("bob@p.example", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->MarkRead("bob@p.example", "0001").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->SwapLinkHash("bob@p.example", "0001", "h").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->MarkNotified({"bob@p.example" + std::string(1, '\0') + "0001"}).ok());
  EXPECT_EQ(store_->Stats()->messages, 0u);
}

// Review R10: the link hash is swapped under the store's lock and the hash
// it replaces comes back (to be revoked); the read flag set meanwhile by a
// page view survives (no write-back of a copy read before).
TEST_P(PortalStoreContract, SwapLinkHashReturnsTheOldHashAndKeepsTheOtherFlags) {
  pb::StoredMessage m = Msg("bob@p.example", "0001", "q1");
  m.set_link_hash("first");
  ASSERT_TRUE(store_->PutMessage(m, "content").ok());
  ASSERT_TRUE(store_->MarkRead("bob@p.example", "0001").ok());
  auto old = store_->SwapLinkHash("bob@p.example", "0001", "second");
  ASSERT_TRUE(old.ok()) << old.error().ToString();
  EXPECT_EQ(*old, "first");
  EXPECT_EQ(*store_->SwapLinkHash("bob@p.example", "0001", "third"), "second");
  auto got = store_->GetMessage("bob@p.example", "0001");
  EXPECT_EQ(got->link_hash(), "third");
  EXPECT_TRUE(got->read());
  EXPECT_TRUE(got->notified());
}

// Two concurrent swaps: every hash handed out is returned exactly once as
// "old" or is the last one, so none stays live unrevoked.
TEST_P(PortalStoreContract, ConcurrentSwapsLoseNoLink) {
  pb::StoredMessage m = Msg("bob@p.example", "0001", "q1");
  m.set_link_hash("h0");
  ASSERT_TRUE(store_->PutMessage(m, "content").ok());
  std::array<std::vector<std::string>, 2> olds;
  std::array<std::thread, 2> threads;
  for (size_t t = 0; t < 2; ++t) {
    threads[t] = std::thread([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto old = store_->SwapLinkHash("bob@p.example", "0001",
                                        "t" + std::to_string(t) + "-" + std::to_string(i));
        if (old.ok()) olds[t].push_back(*old);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen(olds[0].begin(), olds[0].end());
  seen.insert(olds[1].begin(), olds[1].end());
  EXPECT_EQ(seen.size(), 100u);  // no hash returned twice
  seen.insert(store_->GetMessage("bob@p.example", "0001")->link_hash());
  EXPECT_EQ(seen.size(), 101u);  // h0 + 100 new: every one accounted for
  EXPECT_TRUE(seen.count("h0"));
}

// Review R9: a deleted message's source key stays until the message's
// expiry, so the record read again stores nothing; then it goes.
TEST_P(PortalStoreContract, ADeletedMessageLeavesATombstoneUntilItsExpiry) {
  ASSERT_TRUE(store_->PutMessage(Msg("bob@p.example", "0001", "q1/bob", 500), "content").ok());
  ASSERT_TRUE(store_->DeleteMessage("bob@p.example", "0001").ok());
  EXPECT_FALSE(store_->FindBySource("q1/bob")->has_value());
  auto again = store_->PutMessage(Msg("bob@p.example", "0002", "q1/bob", 500), "content");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_TRUE(again->gone);
  EXPECT_EQ(*store_->CountMessages("bob@p.example"), 0u);
  if (GetParam().persistent) Reopen();
  EXPECT_EQ(*store_->SweepTombstones(499), 0u);
  EXPECT_TRUE(store_->PutMessage(Msg("bob@p.example", "0003", "q1/bob", 500), "c")->gone);
  EXPECT_EQ(*store_->SweepTombstones(500), 1u);
  auto later = store_->PutMessage(Msg("bob@p.example", "0004", "q1/bob", 900), "content");
  EXPECT_TRUE(later->created);
}

// One batch: new messages and their links in one write; a source key twice
// in the batch, or already stored, is stored once.
TEST_P(PortalStoreContract, PutMessagesStoresABatchWithItsLinksOnce) {
  ASSERT_TRUE(store_->PutMessage(Msg("a@p.example", "0001", "q1"), "c1").ok());
  std::vector<NewMessage> batch(4);
  batch[0].message = Msg("a@p.example", "0009", "q1");  // stored before
  batch[1].message = Msg("b@p.example", "0002", "q2");
  batch[2].message = Msg("c@p.example", "0003", "q3");
  batch[3].message = Msg("b@p.example", "0004", "q2");  // twice in the batch
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].sealed_content = "c" + std::to_string(i);
    batch[i].link_hash = "link" + std::to_string(i);
    batch[i].link.set_expires_ms(1000);
  }
  auto out = store_->PutMessages(batch);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 4u);
  EXPECT_FALSE((*out)[0].created);
  EXPECT_EQ((*out)[0].message.id(), "0001");
  EXPECT_TRUE((*out)[1].created);
  EXPECT_TRUE((*out)[2].created);
  EXPECT_FALSE((*out)[3].created);
  EXPECT_EQ((*out)[3].message.id(), "0002");
  if (GetParam().persistent) Reopen();
  EXPECT_EQ(store_->Stats()->messages, 3u);
  EXPECT_TRUE(store_->GetToken("link1")->has_value());
  EXPECT_TRUE(store_->GetToken("link2")->has_value());
  EXPECT_FALSE(store_->GetToken("link0")->has_value());
  EXPECT_FALSE(store_->GetToken("link3")->has_value());
  EXPECT_EQ(*store_->GetContent("b@p.example", "0002"), "c1");
}

TEST_P(PortalStoreContract, ExpiredOldestFirst) {
  ASSERT_TRUE(store_->PutMessage(Msg("a@p.example", "0001", "q1", 300), "c").ok());
  ASSERT_TRUE(store_->PutMessage(Msg("b@p.example", "0002", "q2", 100), "c").ok());
  ASSERT_TRUE(store_->PutMessage(Msg("c@p.example", "0003", "q3", 900), "c").ok());
  auto due = store_->Expired(300, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id(), "0002");
  EXPECT_EQ((*due)[1].id(), "0001");
  EXPECT_EQ(store_->Expired(1000, 1)->size(), 1u);
  ASSERT_TRUE(store_->DeleteMessage("b@p.example", "0002").ok());
  EXPECT_EQ(store_->Expired(300, 10)->size(), 1u);
}

TEST_P(PortalStoreContract, ScanVisitsEveryMessageOnce) {
  for (const char* r : {"a@p.example", "b@p.example", "c@p.example"}) {
    for (int i = 1; i <= 3; ++i) {
      const std::string id = "000" + std::to_string(i);
      ASSERT_TRUE(store_->PutMessage(Msg(r, id, std::string(r) + id), "c").ok());
    }
  }
  std::vector<std::string> seen;
  std::string after;
  while (true) {
    auto page = store_->ScanMessages(after, 2);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const auto& m : *page) seen.push_back(m.recipient() + "/" + m.id());
    after = ScanCursor(page->back());
  }
  ASSERT_EQ(seen.size(), 9u);
  EXPECT_EQ(seen.front(), "a@p.example/0001");
  EXPECT_EQ(seen.back(), "c@p.example/0003");
}

TEST_P(PortalStoreContract, TokensAreConsumedOnceAndNotAfterExpiry) {
  pb::LinkToken t;
  t.set_address("bob@p.example");
  t.set_expires_ms(500);
  ASSERT_TRUE(store_->PutToken("h1", t).ok());
  ASSERT_TRUE(store_->PutToken("h2", t).ok());
  EXPECT_FALSE(*store_->ConsumeToken("h1", 500));  // expired at 500
  EXPECT_TRUE(*store_->ConsumeToken("h2", 499));
  EXPECT_FALSE(*store_->ConsumeToken("h2", 499));
  EXPECT_EQ((*store_->GetToken("h2"))->used_ms(), 499);
  EXPECT_FALSE(*store_->ConsumeToken("missing", 1));
  EXPECT_EQ(*store_->SweepTokens(501), 2u);
  EXPECT_FALSE(store_->GetToken("h1")->has_value());
}

TEST_P(PortalStoreContract, ConcurrentConsumeHasOneWinner) {
  pb::LinkToken t;
  t.set_expires_ms(1'000'000);
  ASSERT_TRUE(store_->PutToken("h", t).ok());
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto won = store_->ConsumeToken("h", 10);
      if (won.ok() && *won) ++wins;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST_P(PortalStoreContract, AccountsSessionsKeysAudit) {
  pb::Account a;
  a.set_address("bob@p.example");
  a.set_password_hash("$argon2id$x");
  ASSERT_TRUE(store_->PutAccount(a).ok());
  EXPECT_EQ((*store_->GetAccount("bob@p.example"))->password_hash(), "$argon2id$x");
  EXPECT_FALSE(store_->GetAccount("eve@p.example")->has_value());
  EXPECT_EQ(store_->Stats()->accounts, 1u);

  pb::Session s;
  s.set_address("bob@p.example");
  s.set_last_seen_ms(100);
  ASSERT_TRUE(store_->PutSession("sh", s).ok());
  EXPECT_EQ((*store_->GetSession("sh"))->address(), "bob@p.example");
  EXPECT_EQ(*store_->SweepSessions(100), 0u);
  EXPECT_EQ(*store_->SweepSessions(101), 1u);
  EXPECT_FALSE(store_->GetSession("sh")->has_value());

  pb::SealedPortalKey k;
  k.set_id("k1");
  k.set_sealed("sealed");
  ASSERT_TRUE(store_->PutKey(k).ok());
  ASSERT_EQ(store_->GetKeys()->size(), 1u);

  for (const char* e : {"login", "download", "logout"}) {
    pb::AuditEvent ev;
    ev.set_event(e);
    ASSERT_TRUE(store_->AppendAudit(ev).ok());
  }
  auto audit = store_->ListAudit(2);
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].event(), "logout");
  EXPECT_EQ((*audit)[1].event(), "download");

  ASSERT_TRUE(store_->DeleteAccount("bob@p.example").ok());
  EXPECT_EQ(store_->DeleteAccount("bob@p.example").error().code, ErrorCode::kNotFound);
}

TEST_P(PortalStoreContract, CreateAccountOnceAndAdvanceTotpStepOnce) {
  pb::Account a;
  a.set_address("bob@p.example");
  a.set_password_hash("first");
  EXPECT_TRUE(*store_->CreateAccount(a));
  a.set_password_hash("second");
  EXPECT_FALSE(*store_->CreateAccount(a));
  EXPECT_EQ((*store_->GetAccount("bob@p.example"))->password_hash(), "first");
  EXPECT_EQ(store_->Stats()->accounts, 1u);
  // Of eight concurrent uses of one step, one wins; other fields stay.
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = store_->AdvanceTotpStep("bob@p.example", 42);
      if (r.ok() && *r) ++wins;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_FALSE(*store_->AdvanceTotpStep("bob@p.example", 41));
  EXPECT_TRUE(*store_->AdvanceTotpStep("bob@p.example", 43));
  EXPECT_EQ((*store_->GetAccount("bob@p.example"))->last_totp_step(), 43);
  EXPECT_EQ((*store_->GetAccount("bob@p.example"))->password_hash(), "first");
  EXPECT_EQ(store_->AdvanceTotpStep("eve@p.example", 1).error().code, ErrorCode::kNotFound);
}

TEST_P(PortalStoreContract, UpdateAccountChangesTheCurrentRecordAndNeverCreatesOne) {
  pb::Account a;
  a.set_address("bob@p.example");
  a.set_password_hash("old");
  a.set_language("en");
  ASSERT_TRUE(*store_->CreateAccount(a));
  ASSERT_TRUE(store_->UpdateAccount("bob@p.example", [](pb::Account& now) {
                      now.set_password_hash("new");
                      now.set_session_generation(now.session_generation() + 1);
                      return OkStatus();
                    }).ok());
  // A later change applies to the current record (the reset stays).
  ASSERT_TRUE(store_->UpdateAccount("bob@p.example", [](pb::Account& now) {
                      now.set_language("de");
                      return OkStatus();
                    }).ok());
  auto got = **store_->GetAccount("bob@p.example");
  EXPECT_EQ(got.password_hash(), "new");
  EXPECT_EQ(got.session_generation(), 1);
  EXPECT_EQ(got.language(), "de");
  // A change that fails writes nothing.
  auto refused = store_->UpdateAccount("bob@p.example", [](pb::Account& now) -> Status {
    now.set_language("fr");
    return MakeError(ErrorCode::kInvalidArgument, "no");
  });
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*store_->GetAccount("bob@p.example"))->language(), "de");
  // A purged account stays purged.
  ASSERT_TRUE(store_->DeleteAccount("bob@p.example").ok());
  bool ran = false;
  auto gone = store_->UpdateAccount("bob@p.example", [&](pb::Account&) {
    ran = true;
    return OkStatus();
  });
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(store_->GetAccount("bob@p.example")->has_value());
  EXPECT_EQ(store_->Stats()->accounts, 0u);
  if (!GetParam().persistent) return;
  Reopen();
  EXPECT_FALSE(store_->GetAccount("bob@p.example")->has_value());
}

TEST_P(PortalStoreContract, UpdateSessionNeverBringsADeletedOneBack) {
  pb::Session s;
  s.set_address("bob@p.example");
  EXPECT_FALSE(*store_->UpdateSession("sh", s));
  EXPECT_FALSE(store_->GetSession("sh")->has_value());
  ASSERT_TRUE(store_->PutSession("sh", s).ok());
  s.set_last_seen_ms(7);
  EXPECT_TRUE(*store_->UpdateSession("sh", s));
  EXPECT_EQ((*store_->GetSession("sh"))->last_seen_ms(), 7);
  ASSERT_TRUE(store_->DeleteSession("sh").ok());
  EXPECT_FALSE(*store_->UpdateSession("sh", s));
  EXPECT_FALSE(store_->GetSession("sh")->has_value());
}

TEST_P(PortalStoreContract, AuditRecordsBeforeATimeAreDeleted) {
  for (int64_t t : {100, 200, 300, 400}) {
    pb::AuditEvent ev;
    ev.set_time_ms(t);
    ev.set_event("e" + std::to_string(t));
    ASSERT_TRUE(store_->AppendAudit(ev).ok());
  }
  EXPECT_EQ(*store_->DeleteAuditBefore(300), 2u);
  EXPECT_EQ(*store_->DeleteAuditBefore(300), 0u);
  auto left = store_->ListAudit(10);
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].event(), "e400");
  EXPECT_EQ((*left)[1].event(), "e300");
  if (GetParam().persistent) {
    Reopen();
    EXPECT_EQ(store_->ListAudit(10)->size(), 2u);
  }
}

TEST_P(PortalStoreContract, StatsCountMessagesAndSealedBytes) {
  ASSERT_TRUE(store_->PutMessage(Msg("a@p.example", "0001", "q1"), std::string(100, 'x')).ok());
  ASSERT_TRUE(store_->PutMessage(Msg("a@p.example", "0002", "q2"), std::string(50, 'x')).ok());
  ASSERT_TRUE(store_->PutMessage(Msg("a@p.example", "0003", "q1"), std::string(70, 'x')).ok());
  EXPECT_EQ(store_->Stats()->messages, 2u);
  EXPECT_EQ(store_->Stats()->bytes, 150u);
  ASSERT_TRUE(store_->DeleteMessage("a@p.example", "0001").ok());
  EXPECT_EQ(store_->Stats()->bytes, 50u);
}

TEST_P(PortalStoreContract, EverythingSurvivesAReopen) {
  if (!GetParam().persistent) GTEST_SKIP() << "the memory store keeps nothing";
  ASSERT_TRUE(store_->PutMessage(Msg("a@p.example", "0001", "q1"), "content").ok());
  pb::LinkToken t;
  t.set_expires_ms(1000);
  ASSERT_TRUE(store_->PutToken("h", t).ok());
  ASSERT_TRUE(*store_->ConsumeToken("h", 5));
  Reopen();
  EXPECT_EQ(*store_->GetContent("a@p.example", "0001"), "content");
  EXPECT_FALSE(store_->PutMessage(Msg("a@p.example", "0009", "q1"), "again")->created);
  EXPECT_FALSE(*store_->ConsumeToken("h", 6));
  EXPECT_EQ(store_->Stats()->messages, 1u);
  EXPECT_EQ(store_->Stats()->bytes, 7u);
}

INSTANTIATE_TEST_SUITE_P(Backends, PortalStoreContract,
                         ::testing::Values(Backend{"memory", false}, Backend{"rocksdb", true}),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace sg::portal
