// Directory sync engine: plan (add, update, alias, disable, remove after the
// grace period, enable), the mass-removal guard, audit records, per-domain
// totals, state across runs; against a fake target with an injected clock,
// and against the real KeyServiceImpl (a disabled or removed user keeps its
// keys for decryption).
#include "keyservice/directory_sync.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;
using testing::TempDir;

// The keyservice's users in a map; can be told to refuse writes.
class FakeTarget final : public DirectoryTarget {
 public:
  Result<std::vector<KeyserviceUser>> ListUsers(const std::string& domain) override {
    if (fail_list) return MakeError(ErrorCode::kUnavailable, "keyservice down");
    std::vector<KeyserviceUser> out;
    for (const auto& [addr, u] : users) {
      if (addr.substr(addr.find('@') + 1) == domain) out.push_back(u);
    }
    return out;
  }
  Status PutUsers(const std::vector<KeyserviceUser>& batch) override {
    ++put_calls;
    if (fail_put) return MakeError(ErrorCode::kUnavailable, "store refused");
    for (const auto& u : batch) users[u.address] = u;
    return OkStatus();
  }
  Status RemoveUser(const std::string& address) override {
    users.erase(address);
    return OkStatus();
  }
  Status SetAliases(const std::string& address, const std::vector<std::string>& list) override {
    aliases[address] = list;
    return OkStatus();
  }
  void Add(const std::string& address, bool participating = true) {
    users[address] = {address, participating, ""};
  }

  std::map<std::string, KeyserviceUser> users;
  std::map<std::string, std::vector<std::string>> aliases;
  bool fail_list = false, fail_put = false;
  int put_calls = 0;
};

class CollectingAudit final : public AuditSink {
 public:
  void Record(const AuditRecord& r) override { records.push_back(r); }
  std::vector<AuditRecord> records;
};

DirectoryUser Dir(const std::string& address, bool participating = true, bool enabled = true,
                  std::vector<std::string> aliases = {}) {
  return {address, std::move(aliases), enabled, participating};
}

class DirectorySyncTest : public ::testing::Test {
 protected:
  DirectorySyncTest() {
    spec_.name = "graph-main";
    spec_.policy.domains = {"example.com", "example.org"};
    spec_.policy.grace_seconds = int64_t{30} * 86400;
  }
  SyncOutcome RunOk(const DirectoryView& view, bool dry_run = false) {
    auto r = sync_.Run(spec_, view, dry_run);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : SyncOutcome{};
  }
  double Metric(metrics::Family<metrics::Counter>& f, const std::vector<std::string>& labels) {
    return f.WithLabels(labels).Value();
  }
  // n users u0..u(n-1)@example.com in the keyservice and the directory.
  DirectoryView Populate(int n) {
    DirectoryView v;
    for (int i = 0; i < n; ++i) {
      std::string a = "u" + std::to_string(i) + "@example.com";
      target_.Add(a);
      v.users.push_back(Dir(a));
    }
    return v;
  }

  TempDir dir_;
  FakeTarget target_;
  CollectingAudit audit_;
  DirectoryStateStore store_{dir_.path().string() + "/directory"};
  metrics::Registry registry_;
  DirectoryMetrics metrics_{registry_};
  FakeClock clock_;
  DirectorySync sync_{target_, audit_, store_, metrics_, clock_};
  DirectorySourceSpec spec_;
};

TEST_F(DirectorySyncTest, AddsUpdatesAndFollowsParticipation) {
  target_.Add("carol@example.com", true);
  target_.Add("dave@example.com", true);
  target_.Add("other@elsewhere.net", true);  // a domain this source does not feed
  DirectoryView v;
  v.users = {Dir("Alice@Example.COM"), Dir("bob@example.org", false), Dir("carol@example.com", false),
             Dir("dave@example.com"), Dir("eve@stranger.net")};
  auto out = RunOk(v);
  EXPECT_TRUE(out.applied);
  EXPECT_EQ(FormatPlan(out.plan),
            "add alice@example.com participating: new in the directory\n"
            "add bob@example.org not-participating: new in the directory\n"
            "update carol@example.com not-participating: no longer participating\n"
            "warning: skipped eve@stranger.net: domain not fed by this source\n");
  EXPECT_TRUE(target_.users.at("alice@example.com").participating);
  EXPECT_FALSE(target_.users.at("bob@example.org").participating);
  EXPECT_FALSE(target_.users.at("carol@example.com").participating);
  EXPECT_TRUE(target_.users.count("other@elsewhere.net"));
  EXPECT_EQ(out.applied_counts.at("add"), 2u);
  EXPECT_EQ(Metric(metrics_.changes, {"graph-main", "add"}), 2);
  EXPECT_EQ(Metric(metrics_.runs, {"graph-main", "ok"}), 1);
  // A second run with the same view changes nothing.
  out = RunOk(v);
  EXPECT_TRUE(out.plan.changes.empty());
}

TEST_F(DirectorySyncTest, OneAuditRecordPerChange) {
  target_.Add("gone@example.com");
  DirectoryView v = Populate(20);
  v.users.push_back(Dir("new@example.com", true, true, {"smtp:alias@example.org"}));
  RunOk(v);
  ASSERT_EQ(audit_.records.size(), 3u);  // add, alias, disable
  EXPECT_EQ(audit_.records[0].method, "DirectorySync/add");
  EXPECT_EQ(audit_.records[0].subject, "directory-sync:graph-main");
  EXPECT_EQ(audit_.records[0].result, "OK");
  EXPECT_NE(audit_.records[0].arguments.find("new@example.com"), std::string::npos);
  EXPECT_EQ(audit_.records[1].method, "DirectorySync/disable");
  EXPECT_EQ(audit_.records[2].method, "DirectorySync/alias");
  EXPECT_NE(audit_.records[2].arguments.find("alias@example.org"), std::string::npos);
}

TEST_F(DirectorySyncTest, MissingUserIsDisabledThenRemovedAfterGrace) {
  DirectoryView v = Populate(20);
  target_.Add("leaver@example.com");
  auto out = RunOk(v);
  ASSERT_EQ(out.plan.changes.size(), 1u);
  EXPECT_EQ(out.plan.changes[0].kind, ChangeKind::kDisable);
  EXPECT_FALSE(target_.users.at("leaver@example.com").participating);

  clock_.Advance(29 * 24h);
  out = RunOk(v);
  EXPECT_TRUE(out.plan.changes.empty()) << FormatPlan(out.plan);
  EXPECT_TRUE(target_.users.count("leaver@example.com"));

  clock_.Advance(24h);
  out = RunOk(v);
  ASSERT_EQ(out.plan.changes.size(), 1u);
  EXPECT_EQ(out.plan.changes[0].kind, ChangeKind::kRemove);
  EXPECT_FALSE(target_.users.count("leaver@example.com"));
  EXPECT_TRUE(store_.Load("graph-main")->memory.disabled_since.empty());
}

TEST_F(DirectorySyncTest, DirectoryDisabledAccountIsDisabledAndComesBack) {
  DirectoryView v = Populate(20);
  v.users[3].enabled = false;
  auto out = RunOk(v);
  ASSERT_EQ(out.plan.changes.size(), 1u);
  EXPECT_EQ(out.plan.changes[0].detail, "disabled in the directory");
  EXPECT_FALSE(target_.users.at("u3@example.com").participating);
  clock_.Advance(5 * 24h);
  v.users[3].enabled = true;
  out = RunOk(v);
  ASSERT_EQ(out.plan.changes.size(), 1u);
  EXPECT_EQ(out.plan.changes[0].kind, ChangeKind::kEnable);
  EXPECT_TRUE(target_.users.at("u3@example.com").participating);
  // The grace period starts again when it leaves again.
  clock_.Advance(40 * 24h);
  v.users[3].enabled = false;
  out = RunOk(v);
  ASSERT_EQ(out.plan.changes.size(), 1u);
  EXPECT_EQ(out.plan.changes[0].kind, ChangeKind::kDisable);
}

TEST_F(DirectorySyncTest, GuardStopsAnEmptySourceAndRaisesTheAlert) {
  Populate(20);
  auto before = target_.users;
  auto out = RunOk(DirectoryView{});
  EXPECT_TRUE(out.plan.guard_tripped);
  EXPECT_FALSE(out.applied);
  EXPECT_EQ(out.plan.new_disables, 20u);
  EXPECT_NE(out.plan.guard_message.find("would disable 20 users (100.0% of 20 users, above the "
                                        "limit of 10.0%); nothing was changed"),
            std::string::npos)
      << out.plan.guard_message;
  EXPECT_EQ(target_.put_calls, 0);
  EXPECT_EQ(target_.users.size(), before.size());
  for (const auto& [a, u] : target_.users) EXPECT_TRUE(u.participating) << a;
  EXPECT_TRUE(audit_.records.empty());
  EXPECT_EQ(metrics_.guard_tripped.WithLabels({"graph-main"}).Value(), 1);
  EXPECT_EQ(Metric(metrics_.runs, {"graph-main", "guard"}), 1);
  auto status = sync_.GetStatus("graph-main");
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->last_run.guard_tripped);
  EXPECT_FALSE(status->last_run.ok);
  ASSERT_FALSE(status->last_run.errors.empty());
  EXPECT_EQ(status->last_run.errors[0], out.plan.guard_message);
  EXPECT_TRUE(status->memory.disabled_since.empty());
  // The source is repaired: the alert clears.
  DirectoryView v;
  for (const auto& [a, u] : before) v.users.push_back(Dir(a));
  out = RunOk(v);
  EXPECT_FALSE(out.plan.guard_tripped);
  EXPECT_EQ(metrics_.guard_tripped.WithLabels({"graph-main"}).Value(), 0);
}

TEST_F(DirectorySyncTest, GuardLimitIsAShareOfTheUsers) {
  DirectoryView v = Populate(20);
  v.users.erase(v.users.begin(), v.users.begin() + 2);  // 2 of 20 = 10%: allowed
  auto out = RunOk(v);
  EXPECT_FALSE(out.plan.guard_tripped);
  EXPECT_EQ(out.applied_counts.at("disable"), 2u);
  // 18 active; 2 more = 11.1%: stopped.
  v.users.erase(v.users.begin(), v.users.begin() + 2);
  out = RunOk(v);
  EXPECT_TRUE(out.plan.guard_tripped);
  // A larger configured share lets it through.
  spec_.policy.max_disable_share = 0.2;
  out = RunOk(v);
  EXPECT_FALSE(out.plan.guard_tripped);
  EXPECT_EQ(out.applied_counts.at("disable"), 2u);
}

TEST_F(DirectorySyncTest, AliasesBelongToOneUser) {
  Populate(20);
  DirectoryView v;
  for (const auto& [a, u] : target_.users) v.users.push_back(Dir(a));
  v.users.push_back(Dir("ann@example.com", true, true,
                        {"smtp:Ann.Smith@example.com", "ann@example.com", "smtp:a@example.org",
                         "smtp:u1@example.com", "smtp:ann@foreign.net"}));
  v.users.push_back(Dir("bert@example.com", true, true, {"smtp:a@example.org"}));
  auto out = RunOk(v);
  auto state = store_.Load("graph-main");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->memory.aliases.at("ann@example.com"),
            (std::vector<std::string>{"a@example.org", "ann.smith@example.com"}));
  EXPECT_FALSE(state->memory.aliases.count("bert@example.com"));
  std::string text = FormatPlan(out.plan);
  EXPECT_NE(text.find("alias u1@example.com skipped: it is another user's address"),
            std::string::npos) << text;
  EXPECT_NE(text.find("bert@example.com: alias a@example.org skipped: already an alias of "
                      "ann@example.com"),
            std::string::npos) << text;
  EXPECT_NE(text.find("alias ann@foreign.net skipped: domain not fed"), std::string::npos);
  // Dropping one alias is one change.
  v.users[v.users.size() - 2].aliases = {"smtp:a@example.org"};
  out = RunOk(v);
  ASSERT_EQ(out.plan.changes.size(), 1u);
  EXPECT_EQ(out.plan.changes[0].kind, ChangeKind::kAlias);
  EXPECT_EQ(store_.Load("graph-main")->memory.aliases.at("ann@example.com"),
            (std::vector<std::string>{"a@example.org"}));
}

TEST_F(DirectorySyncTest, RecordsTotalsPerDomain) {
  DirectoryView v;
  v.users = {Dir("a@example.com"), Dir("b@example.com", false), Dir("c@example.com", true, false),
             Dir("d@example.org")};
  RunOk(v);
  auto state = store_.Load("graph-main");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->totals.at("example.com").directory_users, 2u);
  EXPECT_EQ(state->totals.at("example.com").participating, 1u);
  EXPECT_EQ(state->totals.at("example.org").directory_users, 1u);
  EXPECT_EQ(metrics_.domain_users.WithLabels({"example.com", "directory"}).Value(), 2);
  EXPECT_EQ(metrics_.domain_users.WithLabels({"example.com", "participating"}).Value(), 1);
}

TEST_F(DirectorySyncTest, DryRunChangesNothing) {
  target_.Add("leaver@example.com");
  DirectoryView v = Populate(20);
  v.users.push_back(Dir("new@example.com"));
  auto out = RunOk(v, /*dry_run=*/true);
  EXPECT_TRUE(out.dry_run);
  EXPECT_FALSE(out.applied);
  EXPECT_EQ(out.plan.changes.size(), 2u);
  EXPECT_EQ(target_.put_calls, 0);
  EXPECT_FALSE(target_.users.count("new@example.com"));
  EXPECT_TRUE(audit_.records.empty());
  EXPECT_EQ(store_.Load("graph-main")->last_run.started_at, 0);
}

TEST_F(DirectorySyncTest, FailuresAreRecordedAndRetried) {
  DirectoryView v = Populate(20);
  v.users.push_back(Dir("new@example.com"));
  target_.fail_put = true;
  auto out = RunOk(v);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0], "add new@example.com: store refused");
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].result, "FAILED");
  EXPECT_EQ(Metric(metrics_.failures, {"graph-main"}), 1);
  auto status = sync_.GetStatus("graph-main");
  EXPECT_FALSE(status->last_run.ok);
  target_.fail_put = false;
  out = RunOk(v);
  EXPECT_TRUE(out.errors.empty());
  EXPECT_TRUE(target_.users.count("new@example.com"));
  EXPECT_TRUE(sync_.GetStatus("graph-main")->last_run.ok);

  target_.fail_list = true;
  EXPECT_FALSE(sync_.Run(spec_, v, false).ok());
  EXPECT_EQ(Metric(metrics_.failures, {"graph-main"}), 2);
  EXPECT_NE(sync_.GetStatus("graph-main")->last_run.errors.at(0).find("keyservice down"),
            std::string::npos);
}

TEST_F(DirectorySyncTest, StateSurvivesARestartAndIsPerSource) {
  DirectoryView v = Populate(20);
  target_.Add("leaver@example.com");
  RunOk(v);
  {
    DirectoryStateStore again(dir_.path().string() + "/directory");
    metrics::Registry reg;
    DirectoryMetrics m(reg);
    DirectorySync restarted(target_, audit_, again, m, clock_);
    clock_.Advance(31 * 24h);
    auto out = restarted.Run(spec_, v, false);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out->plan.changes.size(), 1u);
    EXPECT_EQ(out->plan.changes[0].kind, ChangeKind::kRemove);
  }
  EXPECT_EQ(store_.Load("ldap-other")->last_run.started_at, 0);
  spec_.name = "../escape";
  EXPECT_EQ(sync_.Run(spec_, v, false).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DirectorySyncTest, CorruptStateIsAnErrorNamingTheFile) {
  ASSERT_TRUE(store_.Save("graph-main", DirectorySourceState{}).ok());
  testing::WriteFile(dir_.path().string() + "/directory/graph-main.json", "{not json");
  auto r = sync_.Run(spec_, DirectoryView{}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("graph-main.json"), std::string::npos);
}

// Against the real keyservice: a user the directory drops keeps its keys.
TEST(DirectorySyncKeyServiceTest, DisabledAndRemovedUsersKeepTheirKeysForDecryption) {
  TempDir dir;
  metrics::Registry registry;
  FakeClock clock{std::chrono::system_clock::now()};
  auto ks = KeyServiceImpl::Open(testing::TestConfig(dir.path()), {"example.com"}, registry, clock);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  KeyAdminDirectoryTarget target(**ks);
  DirectoryStateStore store(dir.path().string() + "/directory");
  DirectoryMetrics metrics(registry);
  DirectorySync sync(target, **ks, store, metrics, clock);
  DirectorySourceSpec spec{"csv", "", {{"example.com"}, "", int64_t{7} * 86400, 0.5}};

  DirectoryView v;
  v.users = {Dir("alice@example.com"), Dir("bob@example.com")};
  ASSERT_TRUE(sync.Run(spec, v, false).ok());
  auto signing = (*ks)->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(signing.ok() && signing->has_value());
  std::string key_der = (*signing)->private_key_der;

  v.users = {Dir("bob@example.com")};
  auto out = sync.Run(spec, v, false);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->applied_counts.at("disable"), 1u);
  auto after = (*ks)->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value()) << "a disabled user must not sign";
  auto keys = (*ks)->GetDecryptionKeys("alice@example.com");
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  EXPECT_EQ((*keys)[0].private_key_der, key_der);

  clock.Advance(8 * 24h);
  out = sync.Run(spec, v, false);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->applied_counts.at("remove"), 1u);
  auto users = (*ks)->ListUsers("example.com");
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  keys = (*ks)->GetDecryptionKeys("alice@example.com");
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  EXPECT_EQ((*keys)[0].private_key_der, key_der);
  // Every change is in the keyservice's audit log.
  auto audit = (*ks)->ListAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  int sync_records = 0;
  for (const auto& r : *audit) sync_records += r.method.rfind("DirectorySync/", 0) == 0;
  EXPECT_EQ(sync_records, 4);  // add, add, disable, remove
}

}  // namespace
}  // namespace sg::keyservice
