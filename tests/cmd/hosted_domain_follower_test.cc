// HostedDomainFollower (cmd/smimegate/hosted_domain_follower.h): ingress's
// hosted domains follow the keyservice's registry through the change events,
// keep the last known set while the keyservice is down, and catch up after
// it answers again or restarted.
#include "cmd/smimegate/hosted_domain_follower.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tests/support/fake_key_service.h"
#include "workers/policy/policy_tenant.h"

namespace sg::app {
namespace {

using namespace std::chrono_literals;
using Set = std::set<std::string>;

// What the follower applied, for waiting on it from the test thread.
class Applied {
 public:
  void Apply(const HostedDomainFollower::Domains& d) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_.clear();
      for (const auto& [name, tenant] : d) last_.insert(name);
      tenants_ = d;
      ++count_;
    }
    cv_.notify_all();
  }
  bool WaitFor(const Set& want, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return last_ == want; });
  }
  Set last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  HostedDomainFollower::Domains tenants() {
    std::lock_guard<std::mutex> lock(mu_);
    return tenants_;
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Set last_;
  HostedDomainFollower::Domains tenants_;
  int count_ = 0;
};

class HostedDomainFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.SetHostedDomains({{"example.com", "default"}});
    HostedDomainFollower::Options options;
    options.poll_wait = 50ms;
    options.retry = 10ms;
    follower_ = std::make_unique<HostedDomainFollower>(
        keys_, [this](const HostedDomainFollower::Domains& d) { applied_.Apply(d); }, registry_,
        options);
  }
  void TearDown() override { follower_->Stop(); }

  sg::testing::FakeKeyService keys_;
  metrics::Registry registry_;
  Applied applied_;
  std::unique_ptr<HostedDomainFollower> follower_;
};

TEST_F(HostedDomainFollowerTest, FollowsAddedAndRemovedDomains) {
  follower_->Start();
  ASSERT_TRUE(applied_.WaitFor({"example.com"}));
  keys_.SetHostedDomains({{"example.com", "default"}, {"acme.example", "acme"}});
  ASSERT_TRUE(applied_.WaitFor({"acme.example", "example.com"})) << "an added domain";
  EXPECT_EQ(applied_.tenants().at("acme.example"), "acme") << "with its tenant";
  keys_.SetHostedDomains({{"acme.example", "acme"}});
  ASSERT_TRUE(applied_.WaitFor({"acme.example"})) << "a removed domain";
  EXPECT_NE(registry_.Serialize().find("smimegate_hosted_domains 1"), std::string::npos)
      << registry_.Serialize();
}

TEST_F(HostedDomainFollowerTest, KeepsTheLastKnownDomainsWhileTheKeyserviceIsDown) {
  follower_->Start();
  ASSERT_TRUE(applied_.WaitFor({"example.com"}));
  keys_.unavailable = true;
  keys_.SetHostedDomains({{"other.example", "default"}});
  // Many failed reads and polls later, nothing was applied: the last set stays.
  const int before = keys_.domain_calls.load() + keys_.wait_calls.load();
  for (int i = 0; i < 200 && keys_.domain_calls.load() + keys_.wait_calls.load() < before + 5; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_GE(keys_.domain_calls.load() + keys_.wait_calls.load(), before + 5);
  EXPECT_EQ(applied_.last(), Set{"example.com"});
  keys_.unavailable = false;
  ASSERT_TRUE(applied_.WaitFor({"other.example"})) << "caught up once it answers";
  EXPECT_NE(registry_.Serialize().find("smimegate_hosted_domain_refresh_total{result=\"failed\"}"),
            std::string::npos);
}

TEST_F(HostedDomainFollowerTest, ReadsEverythingAgainAfterAKeyserviceRestart) {
  follower_->Start();
  ASSERT_TRUE(applied_.WaitFor({"example.com"}));
  keys_.Restart();  // a new epoch: the events before it are gone
  keys_.SetHostedDomains({{"new.example", "t"}});
  ASSERT_TRUE(applied_.WaitFor({"new.example"}));
}

TEST_F(HostedDomainFollowerTest, IgnoresOtherEvents) {
  follower_->Start();
  ASSERT_TRUE(applied_.WaitFor({"example.com"}));
  // Let the start-up reads settle (the first poll resets once).
  for (int i = 0; i < 100 && keys_.wait_calls.load() < 3; ++i) std::this_thread::sleep_for(5ms);
  const int reads = keys_.domain_calls.load();
  for (int i = 0; i < 20; ++i) keys_.Publish("user", "u" + std::to_string(i) + "@example.com");
  keys_.SetHostedDomains({{"example.com", "default"}, {"x.example", "t"}});
  ASSERT_TRUE(applied_.WaitFor({"example.com", "x.example"}));
  EXPECT_LE(keys_.domain_calls.load() - reads, 2) << "user events do not re-read the domains";
}

// The workers' tenant policy overrides come with the same table (as
// App::WireDomainFollower wires them): a change is applied within one poll,
// and while the keyservice is down the last known policies stay in force.
TEST_F(HostedDomainFollowerTest, TenantPoliciesFollowAndSurviveAnOutage) {
  workers::TenantPolicies policies;
  follower_->OnTable([&policies](const keyservice::TenantRoutingTable& t) {
    policies.Replace(workers::TenantPolicyTable::Build(t));
  });
  keyservice::TenantPolicy p;
  p.tenant = "default";
  p.rules = {{"partner.example", "force_encrypt"}};
  keys_.SetTenantPolicies({p});
  follower_->Start();
  auto has_rules = [&](size_t n) {
    for (int i = 0; i < 1000; ++i) {
      const auto* v = policies.Current()->ForDomain("example.com");
      if ((v == nullptr ? 0 : v->rules.size()) == n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  ASSERT_TRUE(has_rules(1)) << "the policy of example.com's tenant";
  p.rules.push_back({"other.example", "exempt"});
  keys_.SetTenantPolicies({p});
  ASSERT_TRUE(has_rules(2)) << "a change at run time";

  keys_.unavailable = true;
  keys_.SetTenantPolicies({});
  const int before = keys_.domain_calls.load() + keys_.wait_calls.load();
  for (int i = 0; i < 200 && keys_.domain_calls.load() + keys_.wait_calls.load() < before + 5;
       ++i) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_NE(policies.Current()->ForDomain("example.com"), nullptr) << "kept while down";
  EXPECT_EQ(policies.Current()->ForDomain("example.com")->rules.size(), 2u);
  keys_.unavailable = false;
  ASSERT_TRUE(has_rules(0)) << "caught up once it answers";
}

// The registry's global rules come with the same table: a "policy" event
// has it read again within one poll.
TEST_F(HostedDomainFollowerTest, GlobalRulesFollowThePolicyEvent) {
  workers::TenantPolicies policies;
  follower_->OnTable([&policies](const keyservice::TenantRoutingTable& t) {
    policies.Replace(workers::TenantPolicyTable::Build(t));
  });
  follower_->Start();
  auto has_rules = [&](size_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (policies.Current()->global_rules().size() == n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  keys_.SetGlobalRules({{"partner.example", "force_encrypt"}});
  ASSERT_TRUE(has_rules(1)) << "a rule added at run time";
  keys_.SetGlobalRules({});
  ASSERT_TRUE(has_rules(0)) << "removed at run time";
}

}  // namespace
}  // namespace sg::app
