// Accounts and sessions together (portal_accounts.h, portal_sessions.h),
// over the memory store and a fake clock: the lockout covers the TOTP step
// (review H1), a password reset and TOTP changes end the other sessions
// (M1), TOTP cannot be replaced or turned on with a session alone (M2), a
// locked address costs no audit write per attempt (M5), two links of one
// address register once (L2), a background task that throws does not end
// the process (L6).
#include "portal/portal_accounts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <new>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "portal/portal_crypto.h"
#include "portal/portal_outbox.h"
#include "portal/portal_sessions.h"
#include "portal/portal_store_memory.h"
#include "portal/portal_templates.h"
#include "portal/portal_totp.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

using O = Accounts::Outcome;
namespace v1 = smimegate::v1;

constexpr char kBob[] = "bob@partner.example";
constexpr char kPassword[] = "Tundra-Kettle-Violin-42";
constexpr char kIp[] = "192.0.2.1";

class RecordingOutbox : public Outbox {
 public:
  Status Deliver(const v1::MessageRecord& record) override {
    delivered.push_back(record);
    return OkStatus();
  }
  Status Reply(const v1::MessageRecord&) override { return OkStatus(); }
  std::vector<v1::MessageRecord> delivered;
};

// A store whose account reads can be made to throw (L6), and that can run
// another request's step between a request's read of an account and its
// write (N1): `interleave` runs once, right after the next account read or
// at the start of the next account update (after the next TOTP step use
// for `interleave_after_step`). A store-level interleaving, no timing.
class ThrowingStore : public MemoryPortalStore {
 public:
  Result<std::optional<pb::Account>> GetAccount(const std::string& address) override {
    if (throw_next) {
      throw_next = false;
      throw std::bad_alloc();
    }
    auto got = MemoryPortalStore::GetAccount(address);
    RunOnce(interleave);
    return got;
  }
  Status UpdateAccount(const std::string& address, const AccountChange& change) override {
    RunOnce(interleave);
    return MemoryPortalStore::UpdateAccount(address, change);
  }
  Result<bool> AdvanceTotpStep(const std::string& address, int64_t step) override {
    auto advanced = MemoryPortalStore::AdvanceTotpStep(address, step);
    RunOnce(interleave_after_step);
    return advanced;
  }
  static void RunOnce(std::function<void()>& step) {
    if (!step) return;
    auto run = std::move(step);
    step = nullptr;
    run();
  }
  bool throw_next = false;
  std::function<void()> interleave;
  std::function<void()> interleave_after_step;
};

class PortalAccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = PortalVault::Open(SecretKey::Random(), store_, clock_);
    ASSERT_TRUE(v.ok()) << v.error().ToString();
    vault_ = std::move(*v);
    auto t = Templates::Load(config_);
    ASSERT_TRUE(t.ok()) << t.error().ToString();
    templates_ = std::move(*t);
    mailer_ = std::make_unique<Mailer>(config_, *templates_, outbox_, clock_, metrics_);
    accounts_ = std::make_unique<Accounts>(config_, *vault_, hasher_, limiter_, links_, *mailer_,
                                           audit_, metrics_, clock_);
  }

  // bob registered with kPassword (and TOTP when `secret` is given).
  void RegisterBob(const std::string& secret = {}) {
    auto link = links_.IssueMessageLink(kBob, "0001", "partner.example", 3600000, false);
    ASSERT_TRUE(link.ok());
    auto r = accounts_->Register(link->token, kPassword, kPassword, "", kIp);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->outcome, O::kOk) << r->message_key;
    if (secret.empty()) return;
    auto on = accounts_->EnableTotp(kBob, secret, Code(secret), kPassword, kIp);
    ASSERT_TRUE(on.ok());
    ASSERT_EQ(on->outcome, O::kOk) << on->message_key;
    clock_.AdvanceMs(30000);  // the enabling code's step is used
  }
  std::string Code(const std::string& secret) const { return Totp(secret, clock_.NowMs() / 1000); }
  static std::string WrongCode(const std::string& right) {
    return right == "000000" ? "111111" : "000000";
  }
  int64_t Generation() { return (*store_.GetAccount(kBob))->session_generation(); }
  size_t AuditCount() { return store_.ListAudit(100000)->size(); }

  testing::FakeClock clock_;
  ThrowingStore store_;
  PortalConfig config_;
  metrics::Registry registry_;
  PortalMetrics metrics_{registry_};
  std::unique_ptr<PortalVault> vault_;
  std::unique_ptr<Templates> templates_;
  PasswordHasher hasher_{Argon2Params{1, 1024, 1}};
  LoginLimiter limiter_{LimiterConfig{}, clock_};
  Links links_{store_, clock_, "https://portal.example"};
  RecordingOutbox outbox_;
  std::unique_ptr<Mailer> mailer_;
  Audit audit_{store_, clock_};
  std::unique_ptr<Accounts> accounts_;
  Sessions sessions_{store_, clock_, std::chrono::minutes(30), std::chrono::hours(12)};
};

TEST_F(PortalAccountsTest, ACorrectPasswordDoesNotResetTheTotpCount) {
  const std::string secret = Accounts::NewTotpSecret();
  RegisterBob(secret);
  // 19 wrong codes, then the password again (which used to reset the count).
  for (int i = 0; i < 19; ++i) {
    auto a = accounts_->CompleteTotp(kBob, WrongCode(Code(secret)), kIp);
    ASSERT_TRUE(a.ok());
    ASSERT_EQ(a->outcome, O::kWrong) << i;
  }
  auto login = accounts_->Login(kBob, kPassword, kIp);
  ASSERT_TRUE(login.ok());
  ASSERT_EQ(login->outcome, O::kTotpRequired);
  auto twentieth = accounts_->CompleteTotp(kBob, WrongCode(Code(secret)), kIp);
  ASSERT_EQ(twentieth->outcome, O::kWrong);
  // Locked now: the right code and the right password are refused.
  EXPECT_EQ(accounts_->CompleteTotp(kBob, Code(secret), kIp)->outcome, O::kLocked);
  EXPECT_EQ(accounts_->Login(kBob, kPassword, kIp)->outcome, O::kLocked);
  EXPECT_EQ(limiter_.Check(kBob, "198.51.100.7"), LoginLimiter::Verdict::kAddressLocked);
}

TEST_F(PortalAccountsTest, OnlyTheWholeLoginClearsTheCounts) {
  const std::string secret = Accounts::NewTotpSecret();
  RegisterBob(secret);
  for (int i = 0; i < 19; ++i) ASSERT_EQ(accounts_->Login(kBob, "wrong", kIp)->outcome, O::kWrong);
  ASSERT_EQ(accounts_->Login(kBob, kPassword, kIp)->outcome, O::kTotpRequired);
  ASSERT_EQ(accounts_->CompleteTotp(kBob, Code(secret), kIp)->outcome, O::kOk);
  // The count started again: 19 more wrong passwords do not lock.
  for (int i = 0; i < 19; ++i) ASSERT_EQ(accounts_->Login(kBob, "wrong", kIp)->outcome, O::kWrong);
  EXPECT_EQ(limiter_.Check(kBob, kIp), LoginLimiter::Verdict::kAllowed);
}

TEST_F(PortalAccountsTest, AResetOfATotpAccountIsRefusedWhileLockedAndUnlocksAfterTheCode) {
  const std::string secret = Accounts::NewTotpSecret();
  RegisterBob(secret);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(accounts_->CompleteTotp(kBob, WrongCode(Code(secret)), kIp).ok());
  }
  ASSERT_EQ(limiter_.Check(kBob, kIp), LoginLimiter::Verdict::kAddressLocked);
  auto link = links_.IssueResetLink(kBob, "partner.example", 24 * 3600000LL);
  ASSERT_TRUE(link.ok());
  const std::string fresh = "Granite-Osprey-Lantern-7";
  // The mailbox and the right code do not help while the address is locked.
  auto refused = accounts_->Reset(link->token, fresh, fresh, Code(secret), "198.51.100.7");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->outcome, O::kLocked);
  clock_.AdvanceMs(3600000);  // the lock ran out
  auto wrong = accounts_->Reset(link->token, fresh, fresh, WrongCode(Code(secret)), kIp);
  EXPECT_EQ(wrong->outcome, O::kWrong);
  auto done = accounts_->Reset(link->token, fresh, fresh, Code(secret), kIp);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->outcome, O::kOk) << done->message_key;
  EXPECT_EQ(accounts_->Login(kBob, fresh, kIp)->outcome, O::kTotpRequired);
}

TEST_F(PortalAccountsTest, AResetEndsEveryOtherSessionOfTheAccount) {
  RegisterBob();
  auto first = sessions_.Rotate(*sessions_.Create(""), kBob, false, Generation());
  auto second = sessions_.Rotate(*sessions_.Create(""), kBob, false, Generation());
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*sessions_.Load(first->id))->logged_in());
  auto link = links_.IssueResetLink(kBob, "partner.example", 3600000);
  const std::string fresh = "Granite-Osprey-Lantern-7";
  ASSERT_EQ(accounts_->Reset(link->token, fresh, fresh, "", kIp)->outcome, O::kOk);
  // Both older sessions are gone (and deleted), a new login works.
  EXPECT_FALSE(sessions_.Load(first->id)->has_value());
  EXPECT_FALSE(sessions_.Load(second->id)->has_value());
  EXPECT_FALSE(store_.GetSession(Sha256(first->id))->has_value());
  auto after = sessions_.Rotate(*sessions_.Create(""), kBob, false, Generation());
  ASSERT_TRUE(after.ok());
  auto loaded = sessions_.Load(after->id);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_TRUE((*loaded)->logged_in());
}

TEST_F(PortalAccountsTest, AnAccountChangeInFlightDoesNotUndoAReset) {
  // Each change read the account before the reset committed (N1).
  std::string password = kPassword;
  const std::vector<std::function<Status()>> changes = {
      [&] { return accounts_->SetLanguage(kBob, "de"); },
      [&] { return accounts_->SetCertificate(kBob, "certificate-der"); },
      [&] { return accounts_->SetCertificate(kBob, ""); },
      [&] {
        const std::string secret = Accounts::NewTotpSecret();
        auto on = accounts_->EnableTotp(kBob, secret, Code(secret), password, kIp);
        if (!on.ok()) return Status(on.error());
        if (on->outcome != O::kOk) return Status(MakeError(ErrorCode::kInternal, on->message_key));
        return OkStatus();
      },
  };
  RegisterBob();
  for (size_t i = 0; i < changes.size(); ++i) {
    const int64_t before = (*store_.GetAccount(kBob))->session_generation();
    auto link = links_.IssueResetLink(kBob, "partner.example", 3600000);
    ASSERT_TRUE(link.ok());
    const std::string fresh = "Granite-Osprey-Lantern-" + std::to_string(i);
    store_.interleave = [&] {
      ASSERT_EQ(accounts_->Reset(link->token, fresh, fresh, "", kIp)->outcome, O::kOk);
    };
    ASSERT_TRUE(changes[i]().ok()) << i;
    ASSERT_FALSE(store_.interleave) << i;  // the reset ran in between
    const pb::Account now = **store_.GetAccount(kBob);
    EXPECT_GE(now.session_generation(), before + 1) << i;
    EXPECT_TRUE(*hasher_.Verify(now.password_hash(), fresh)) << i;
    EXPECT_FALSE(*hasher_.Verify(now.password_hash(), password)) << i;
    password = fresh;
  }
  const pb::Account last = **store_.GetAccount(kBob);
  EXPECT_EQ(last.language(), "de");
  EXPECT_TRUE(last.certificate_der().empty());
  EXPECT_FALSE(last.sealed_totp_secret().empty());
}

TEST_F(PortalAccountsTest, ALoginThatCheckedTheOldPasswordBeforeAResetIsLoggedOut) {
  // N2: the reset commits between the login's read of the account and its
  // password check; the session made from that login must not load.
  RegisterBob();
  auto link = links_.IssueResetLink(kBob, "partner.example", 3600000);
  ASSERT_TRUE(link.ok());
  const std::string fresh = "Granite-Osprey-Lantern-7";
  store_.interleave = [&] {
    ASSERT_EQ(accounts_->Reset(link->token, fresh, fresh, "", kIp)->outcome, O::kOk);
  };
  auto login = accounts_->Login(kBob, kPassword, kIp);
  ASSERT_TRUE(login.ok());
  ASSERT_FALSE(store_.interleave);  // the reset ran in between
  ASSERT_EQ(login->outcome, O::kOk);  // checked against the record it read
  auto session = sessions_.Rotate(*sessions_.Create(""), kBob, false, login->generation);
  ASSERT_TRUE(session.ok());
  auto loaded = sessions_.Load(session->id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  // A login with the new password stays logged in.
  auto now = accounts_->Login(kBob, fresh, kIp);
  ASSERT_EQ(now->outcome, O::kOk);
  auto good = sessions_.Rotate(*sessions_.Create(""), kBob, false, now->generation);
  ASSERT_TRUE(sessions_.Load(good->id)->has_value());
  EXPECT_TRUE((*sessions_.Load(good->id))->logged_in());
}

TEST_F(PortalAccountsTest, APurgedAccountIsNotCreatedAgainByARequestInFlight) {
  const std::string secret = Accounts::NewTotpSecret();
  auto purge = [&] { ASSERT_TRUE(store_.DeleteAccount(kBob).ok()); };
  const std::vector<std::function<void()>> changes = {
      [&] { (void)accounts_->SetLanguage(kBob, "de"); },
      [&] { (void)accounts_->SetCertificate(kBob, "certificate-der"); },
      [&] {
        auto link = links_.IssueResetLink(kBob, "partner.example", 3600000);
        const std::string fresh = "Granite-Osprey-Lantern-7";
        store_.interleave = purge;
        (void)accounts_->Reset(link->token, fresh, fresh, "", kIp);
      },
      [&] {
        const std::string other = Accounts::NewTotpSecret();
        (void)accounts_->EnableTotp(kBob, other, Code(other), kPassword, kIp);
      },
      [&] {
        store_.interleave = nullptr;
        store_.interleave_after_step = purge;  // after the code was checked
        (void)accounts_->DisableTotp(kBob, Code(secret), kIp);
      },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    RegisterBob(i == 4 ? secret : "");
    store_.interleave = purge;
    changes[i]();
    EXPECT_FALSE(store_.interleave || store_.interleave_after_step) << i;
    EXPECT_FALSE(store_.GetAccount(kBob)->has_value()) << i;
  }
}

TEST_F(PortalAccountsTest, TurningTotpOnOrOffEndsOtherSessionsAndAPurgeEndsAll) {
  RegisterBob();
  auto other = sessions_.Rotate(*sessions_.Create(""), kBob, false, Generation());
  const std::string secret = Accounts::NewTotpSecret();
  ASSERT_EQ(accounts_->EnableTotp(kBob, secret, Code(secret), kPassword, kIp)->outcome, O::kOk);
  EXPECT_FALSE(sessions_.Load(other->id)->has_value());
  clock_.AdvanceMs(30000);
  other = sessions_.Rotate(*sessions_.Create(""), kBob, false, Generation());
  ASSERT_EQ(accounts_->DisableTotp(kBob, Code(secret), kIp)->outcome, O::kOk);
  EXPECT_FALSE(sessions_.Load(other->id)->has_value());
  other = sessions_.Rotate(*sessions_.Create(""), kBob, false, Generation());
  ASSERT_TRUE(sessions_.Load(other->id)->has_value());
  ASSERT_TRUE(store_.DeleteAccount(kBob).ok());  // smimegatectl portal purge --account
  EXPECT_FALSE(sessions_.Load(other->id)->has_value());
}

TEST_F(PortalAccountsTest, TotpIsNotReplacedAndNeedsThePasswordToTurnOn) {
  RegisterBob();
  const std::string secret = Accounts::NewTotpSecret();
  auto no_password = accounts_->EnableTotp(kBob, secret, Code(secret), "not-the-password", kIp);
  ASSERT_TRUE(no_password.ok());
  EXPECT_EQ(no_password->outcome, O::kWrong);
  EXPECT_EQ(no_password->message_key, "error_password");
  EXPECT_TRUE((*store_.GetAccount(kBob))->sealed_totp_secret().empty());
  ASSERT_EQ(accounts_->EnableTotp(kBob, secret, Code(secret), kPassword, kIp)->outcome, O::kOk);
  const std::string sealed = (*store_.GetAccount(kBob))->sealed_totp_secret();
  // Another secret, with its right code and the password: refused.
  const std::string other = Accounts::NewTotpSecret();
  auto replaced = accounts_->EnableTotp(kBob, other, Code(other), kPassword, kIp);
  EXPECT_EQ(replaced->outcome, O::kRefused);
  EXPECT_EQ(replaced->message_key, "totp_already_on");
  EXPECT_EQ((*store_.GetAccount(kBob))->sealed_totp_secret(), sealed);
  // Audited with the client's address.
  bool found = false;
  const auto records = store_.ListAudit(100).value();
  for (const auto& e : records) {
    if (e.event() == "totp_enabled") found = e.ip() == kIp;
  }
  EXPECT_TRUE(found);
}

TEST_F(PortalAccountsTest, ALockedAddressIsAuditedOnceNotPerAttempt) {
  RegisterBob();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(accounts_->Login(kBob, "wrong", kIp).ok());
  size_t locks = 0;
  const auto records = store_.ListAudit(100).value();
  for (const auto& e : records) locks += e.detail() == "now locked" ? 1 : 0;
  EXPECT_EQ(locks, 1u);
  const size_t before = AuditCount();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(accounts_->Login(kBob, kPassword, kIp)->outcome, O::kLocked);
  }
  EXPECT_EQ(AuditCount(), before);
  // A reset request for an unknown address writes nothing either.
  accounts_->RequestReset("nobody@partner.example", kIp, "en");
  accounts_->Drain();
  EXPECT_EQ(AuditCount(), before);
}

TEST_F(PortalAccountsTest, TwoLinksOfOneAddressRegisterOnce) {
  // Eight links of one address used at the same time: one account, the
  // others "link invalid" (the check and the write are one store call).
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) {
    auto link = links_.IssueMessageLink(kBob, "000" + std::to_string(i), "partner.example",
                                        3600000, false);
    ASSERT_TRUE(link.ok());
    tokens.push_back(link->token);
  }
  std::atomic<int> registered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const std::string password = std::string(kPassword) + static_cast<char>('a' + i);
      auto r = accounts_->Register(tokens[i], password, password, "", kIp);
      if (r.ok() && r->outcome == O::kOk) ++registered;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registered.load(), 1);
}

TEST_F(PortalAccountsTest, ABackgroundTaskThatThrowsIsCountedAndTheThreadGoesOn) {
  RegisterBob();
  store_.throw_next = true;
  accounts_->RequestReset(kBob, kIp, "en");
  accounts_->Drain();
  EXPECT_EQ(metrics_.background_errors.Value(), 1.0);
  accounts_->RequestReset(kBob, kIp, "en");  // the thread still runs
  accounts_->Drain();
  ASSERT_EQ(outbox_.delivered.size(), 1u);
  EXPECT_EQ(outbox_.delivered[0].envelope().recipients(0).address(), kBob);
}

TEST_F(PortalAccountsTest, RepliesAreLimitedPerAccount) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(accounts_->AllowReply(kBob)) << i;
  EXPECT_FALSE(accounts_->AllowReply(kBob));
  EXPECT_TRUE(accounts_->AllowReply("carol@partner.example"));
  clock_.AdvanceMs(3600000 / 20);  // one reply's worth of time
  EXPECT_TRUE(accounts_->AllowReply(kBob));
  EXPECT_FALSE(accounts_->AllowReply(kBob));
}

}  // namespace
}  // namespace sg::portal
