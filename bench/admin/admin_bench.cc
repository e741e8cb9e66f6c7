// bench/admin (issue 19): do the registry's lookups stay off the hot path?
//
// Sign+encrypt throughput of the worker's policy (PolicyProcessor over the
// real keyservice, in process, behind the worker's key cache as in
// `smimegate run`) for a 10 KB message from alice@example.com to
// bob@example.com, in two gateways built in the same run:
//   baseline  one hosted domain, no tenant policy;
//   loaded    10,000 hosted domains in 1,000 tenants, every tenant with a
//             policy override (rules, tags, web encryption), alice's domain
//             in one of them: every message resolves its sender's tenant
//             and checks the tenant's rules before the global ones.
// Rounds alternate the order (ABBA...); the figure is the median of the
// per-round ratios loaded / baseline (not a bare time). Also printed: the
// follower's table read and snapshot build for the loaded registry (off
// the hot path: once per change).
//
//   admin_bench [--quick] [--rounds R] [--messages N]
//   (default 7 rounds x 200 messages; --quick: 1,000 domains in 100
//   tenants, 3 x 20, no threshold: the suite's smoke, label bench)
//
// Exit 1 on any error, and (not --quick) when the ratio is below 0.95.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keyservice/key_cache.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"
#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_processor.h"
#include "workers/policy/policy_tenant.h"

namespace sg::bench {
namespace {

namespace ks = keyservice;
namespace v1 = smimegate::v1;
using Clock = std::chrono::steady_clock;

constexpr const char* kAlice = "alice@example.com";
constexpr const char* kBob = "bob@example.com";

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "admin_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.error().ToString());
  return std::move(r).value();
}

void Must(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.error().ToString());
}

std::string TenantId(int i) {
  std::string n = std::to_string(i);
  return "t" + std::string(n.size() < 4 ? 4 - n.size() : 0, '0') + n;
}

int Count(const char* text) {
  int v = 0;
  const std::string_view s(text);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1) Die("not a count: " + std::string(s));
  return v;
}

// One gateway's worker side: the keyservice, the worker's cache in front of
// it, the tenant policy snapshot and the policy processor.
struct Gateway {
  ks::testing::TempDir dir;
  metrics::Registry registry;
  sg::testing::FakeClock clock{std::chrono::system_clock::now()};
  std::unique_ptr<ks::KeyServiceImpl> keys;
  std::unique_ptr<ks::CachingKeyService> cache;
  std::unique_ptr<ks::DecryptGuardStore> guard;
  workers::TenantPolicies policies;
  std::unique_ptr<workers::PolicyProcessor> processor;
  double table_ms = 0;
  size_t domains = 0;
};

// `tenants` tenants with `per_tenant` domains each (alice's example.com is
// one of tenant 0's), every tenant with a policy override; 0: one domain.
void Populate(Gateway& g, int tenants, int per_tenant) {
  for (int i = 0; i < tenants; ++i) {
    const std::string id = TenantId(i);
    Must(g.keys->TenantAdd(ks::Tenant{id, "Tenant " + id, ""}), "tenant add");
    ks::TenantPolicy p;
    p.tenant = id;
    p.web_encryption = "off";
    p.tags_off = {"plain"};
    for (int k = 0; k < 5; ++k) {
      p.rules.push_back({"p" + std::to_string(i) + "-" + std::to_string(k) + ".example",
                         k % 2 == 0 ? "force_encrypt" : "exempt"});
    }
    p.rules.push_back({"ceo@partner" + std::to_string(i) + ".example", "force_encrypt"});
    Must(g.keys->TenantPolicySet(p), "policy set");
  }
  for (int i = 0; i < tenants; ++i) {
    for (int j = (i == 0 ? 1 : 0); j < per_tenant; ++j) {
      const std::string d = "d" + std::to_string(i) + "-" + std::to_string(j) + ".example";
      Must(g.keys->AddDomain(ks::Domain{d, TenantId(i)}), "domain add " + d);
    }
  }
  if (tenants > 0)
    Must(g.keys->AddDomain(ks::Domain{"example.com", TenantId(0)}), "move example.com");
}

v1::MessageRecord Message(const std::string& from, const std::string& to, const std::string& id) {
  std::string body;
  while (body.size() < 10 * 1024) body += std::string(74, 'x') + "\r\n";
  auto rec = workers::testing::Record(v1::DIRECTION_OUTBOUND, from, {to},
                                      workers::testing::TextMessage(from, "bench " + id, body));
  rec.mutable_envelope()->set_message_id(id);
  return rec;
}

// Processes `rec` until it is not set aside for the CA (first certificates).
std::vector<v1::MessageRecord> Settle(Gateway& g, const v1::MessageRecord& rec) {
  for (int i = 0; i < 400; ++i) {
    auto out = Must(g.processor->Process(rec), "process");
    if (out.size() != 1 || out[0].set_aside_until_ms() == 0) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  Die("the CA did not issue within 10 s");
}

void Open(Gateway& g, const smime::SmimeEngine& engine, int tenants, int per_tenant) {
  ks::KeyServiceConfig config = ks::testing::TestConfig(g.dir.path());
  g.keys = Must(ks::KeyServiceImpl::Open(config, {"example.com"}, g.registry, g.clock), "open");
  Populate(g, tenants, per_tenant);
  Must(g.keys->PutUsers({ks::User{kAlice, true, ""}, ks::User{kBob, true, ""}}), "users");
  g.cache = std::make_unique<ks::CachingKeyService>(*g.keys);
  g.guard = Must(ks::DecryptGuardStore::Open(ks::DecryptGuardOptions{}), "guard");
  const auto t0 = Clock::now();
  auto table = Must(g.keys->TenantRouting(), "tenant routing");
  g.policies.Replace(workers::TenantPolicyTable::Build(table));
  g.table_ms = Seconds(t0) * 1000;
  g.domains = table.domains.size();
  smime::SmimeConfig sc;
  sc.trust_system_roots = false;
  g.processor = std::make_unique<workers::PolicyProcessor>(workers::PolicyConfig{}, sc, *g.cache,
                                                           *g.guard, engine, g.registry);
  g.processor->SetTenantPolicies(&g.policies, false);
  // Both users' first certificates, then check the form is sign+encrypt.
  Settle(g, Message(kBob, kAlice, "warm-bob"));
  // A hosted user's own certificate is not an encryption certificate for
  // other hosted users; bob's is imported as a partner's would be, so
  // alice's mail to him is signed and encrypted like mail to a partner.
  auto bob = Must(g.keys->GetSigningIdentity(kBob), "bob's identity");
  if (!bob) Die("bob has no certificate after the warm-up");
  Must(g.keys->ImportCertificates(kBob, {bob->certificate_der}), "import bob's certificate");
  auto out = Settle(g, Message(kAlice, kBob, "warm-alice"));
  if (out.size() != 1 || out[0].message().find("application/pkcs7-mime") == std::string::npos) {
    Die("the warm-up message was not encrypted");
  }
}

double Rate(Gateway& g, const v1::MessageRecord& rec, int n) {
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto out = g.processor->Process(rec);
    if (!out.ok() || out->size() != 1) Die("process failed");
  }
  return static_cast<double>(n) / Seconds(t0);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  bool quick = false;
  int rounds = 7, messages = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
      rounds = 3;
      messages = 20;
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = Count(argv[++i]);
    } else if (a == "--messages" && i + 1 < argc) {
      messages = Count(argv[++i]);
    } else {
      Die("usage: admin_bench [--quick] [--rounds R] [--messages N]");
    }
  }
  const int tenants = quick ? 100 : 1000;
  const int per_tenant = 10;
  auto engine = Must(smime::SmimeEngine::Create(), "engine");
  Gateway base, loaded;
  auto t0 = Clock::now();
  Open(base, *engine, 0, 0);
  Open(loaded, *engine, tenants, per_tenant);
  std::printf(
      "setup: %.1f s; loaded registry: %zu domains in %d tenants, each with a policy "
      "override\n",
      Seconds(t0), loaded.domains, tenants);
  const auto rec = Message(kAlice, kBob, "bench");
  std::vector<double> ratios, base_rates, loaded_rates;
  for (int r = 0; r < rounds; ++r) {
    double b = 0, l = 0;
    if (r % 2 == 0) {
      b = Rate(base, rec, messages);
      l = Rate(loaded, rec, messages);
    } else {
      l = Rate(loaded, rec, messages);
      b = Rate(base, rec, messages);
    }
    base_rates.push_back(b);
    loaded_rates.push_back(l);
    ratios.push_back(l / b);
    std::printf("round %d: baseline %.0f msgs/s, loaded %.0f msgs/s, ratio %.3f\n", r + 1, b, l,
                l / b);
  }
  const double ratio = Median(ratios);
  std::printf(
      "sign+encrypt 10 KB, %d rounds x %d messages: baseline (1 domain) median %.0f "
      "msgs/s, loaded (%zu domains, %d tenants) median %.0f msgs/s\n",
      rounds, messages, Median(base_rates), loaded.domains, tenants, Median(loaded_rates));
  std::printf("ratio loaded/baseline (median of rounds): %.3f (target >= 0.95)\n", ratio);
  std::printf("follower table read + snapshot build (loaded, off the hot path): %.1f ms\n",
              loaded.table_ms);
  if (!quick && ratio < 0.95) return 1;
  return 0;
}

}  // namespace
}  // namespace sg::bench

int main(int argc, char** argv) { return sg::bench::Main(argc, argv); }
