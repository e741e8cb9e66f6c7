// The Microsoft Graph directory source (directory_graph_source.h) against a
// fake Graph (fake_graph_server.py: HTTPS on loopback with a test
// certificate, paging, delta rounds, a 429 with Retry-After, a token that
// expires, hostile answers), through the real DirectoryService and
// KeyServiceImpl: the sync converges, incremental runs fetch only the
// changes, aliases map to one user, a group decides participation.
#include "keyservice/directory_graph_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "keyservice/directory_service.h"
#include "keyservice/key_service_impl.h"
#include "tests/egress/peer_process.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using egress::testing::ChildProcess;
using nlohmann::json;
using sg::testing::FakeClock;

constexpr const char* kSecret = "graph-Secret-0815";

// openssl with fixed arguments and paths of our temp dir.
bool Shell(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;  // NOLINT(cert-env33-c)
}

json User(const std::string& id, const std::string& mail, bool enabled = true,
          std::vector<std::string> proxies = {}, std::vector<std::string> groups = {}) {
  if (proxies.empty() && !mail.empty()) proxies = {"SMTP:" + mail};
  return {{"id", id},           {"mail", mail.empty() ? json(nullptr) : json(mail)},
          {"proxyAddresses", proxies}, {"accountEnabled", enabled},
          {"userType", "Member"},       {"groups", groups}};
}

class FakeGraph {
 public:
  FakeGraph(const std::string& dir, const std::vector<std::string>& flags) : dir_(dir) {
    const std::string port_file = dir + "/port." + std::to_string(++starts_);
    std::vector<std::string> argv = {"/usr/bin/python3", SG_FAKE_GRAPH_PY, "--cert", dir + "/graph.crt",
                                     "--key", dir + "/graph.key", "--port-file", port_file,
                                     "--directory", dir + "/directory.json",
                                     "--client-secret", kSecret};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = ChildProcess(argv);
    port_ = egress::testing::WaitForPortFile(port_file, 10s);
  }
  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  json Stats() const {
    CurlGraphHttp http(dir_ + "/graph.crt");
    auto answer = http.Send({url() + "/_test/stats", "", {}, 1 << 20, 5s});
    if (!answer.ok()) return json::object();
    return json::parse(answer->body, nullptr, false);
  }

 private:
  static inline int starts_ = 0;
  std::string dir_;
  ChildProcess process_;
  int port_ = -1;
};

class DirectoryGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_s_ = dir_.path().string();
    ASSERT_TRUE(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " + dir_s_ +
                    "/graph.key -out " + dir_s_ + "/graph.crt"));
    ASSERT_TRUE(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " + dir_s_ +
                    "/other.key -out " + dir_s_ + "/other.crt"));
    testing::WriteFile(dir_.path() / "secret", std::string(kSecret) + "\n");
    auto ks = KeyServiceImpl::Open(testing::TestConfig(dir_.path() / "ks"), {"example.com"},
                                   registry_, clock_);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
  }

  void WriteDirectory(const std::vector<json>& users) {
    std::ofstream(dir_s_ + "/directory.json.tmp") << json{{"users", users}}.dump();
    std::filesystem::rename(dir_s_ + "/directory.json.tmp", dir_s_ + "/directory.json");
  }

  GraphSourceConfig Config(const FakeGraph& graph) const {
    GraphSourceConfig c;
    c.token_url = graph.url() + "/tenant-1/oauth2/v2.0/token";
    c.graph_url = graph.url();
    c.client_id = "test-client";
    c.client_secret_file = dir_s_ + "/secret";
    c.ca_file = dir_s_ + "/graph.crt";
    c.cache_file = dir_s_ + "/state/m365.graph";
    return c;
  }

  // A DirectoryService with one graph source feeding example.com.
  std::unique_ptr<DirectoryService> Service(const GraphSourceConfig& c, GraphSource** out) {
    DirectoryConfig config;
    config.state_dir = dir_s_ + "/state";
    DirectorySourceConfig s;
    s.name = "m365";
    s.type = "graph";
    s.domains = {"example.com"};
    s.grace_period = 24h * 30;
    s.graph = c;
    config.sources = {s};
    auto source = std::make_unique<GraphSource>(
        c, std::make_unique<CurlGraphHttp>(c.ca_file), clock_,
        [this](std::chrono::milliseconds d) { waits_.push_back(d); });
    *out = source.get();
    std::map<std::string, std::unique_ptr<DirectorySource>> sources;
    sources.emplace("m365", std::move(source));
    return std::make_unique<DirectoryService>(config, std::move(sources), *ks_, *ks_, registry_,
                                              clock_, ks_.get());
  }

  std::map<std::string, bool> Users() {
    std::map<std::string, bool> out;
    auto users = ks_->ListUsers("example.com");
    EXPECT_TRUE(users.ok());
    if (users.ok()) {
      for (const auto& u : *users) out[u.address] = u.participating;
    }
    return out;
  }

  testing::TempDir dir_;
  std::string dir_s_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
  std::vector<std::chrono::milliseconds> waits_;
};

std::vector<json> BaseDirectory() {
  std::vector<json> users = {
      User("a-1", "Alice@Example.com", true,
           {"SMTP:Alice@Example.com", "smtp:al@example.com", "smtp:alice.w@example.com",
            "X500:/o=ExchangeLabs/cn=alice", "SIP:alice@example.com"}),
      User("b-2", "bob@example.com"),
      User("c-3", "carol@example.com", false),  // disabled in the directory
      User("n-4", "", true, {}),                // no mailbox
  };
  json guest = User("g-5", "partner@elsewhere.example");
  guest["userType"] = "Guest";
  users.push_back(guest);
  for (int i = 0; i < 200; ++i) {
    users.push_back(User("f-" + std::to_string(1000 + i), "user" + std::to_string(i) + "@example.com"));
  }
  return users;
}

TEST_F(DirectoryGraphTest, ConvergesThenFetchesOnlyChanges) {
  WriteDirectory(BaseDirectory());
  FakeGraph graph(dir_s_, {"--page-size", "50", "--throttle-once", "--expire-token-after", "3"});
  ASSERT_GT(graph.port(), 0);
  GraphSource* source = nullptr;
  auto service = Service(Config(graph), &source);

  auto r = service->SyncSource("m365", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->errors.empty());
  auto users = Users();
  EXPECT_EQ(users.size(), 202u);  // alice, bob, 200; not the disabled, the guest, no mailbox
  EXPECT_TRUE(users.count("alice@example.com"));
  EXPECT_FALSE(users.count("carol@example.com"));
  auto stats = source->last_stats();
  EXPECT_FALSE(stats.incremental);
  EXPECT_EQ(stats.entries, 205);
  EXPECT_EQ(stats.retries, 1);  // the 429
  ASSERT_EQ(waits_.size(), 1u);
  EXPECT_EQ(waits_[0], 1s);     // its Retry-After
  EXPECT_EQ(stats.token_requests, 2);  // the first token expired after 3 requests
  json fake = graph.Stats();
  EXPECT_EQ(fake["throttled"], 1);
  EXPECT_EQ(fake["expired"], 1);
  EXPECT_EQ(fake["delta_rounds_full"], 1);
  // 205 entries in pages of 50: 5 pages, + the 429 + the 401.
  EXPECT_EQ(fake["delta"], 5);
  EXPECT_EQ(fake["graph"], 7);
  EXPECT_EQ(stats.requests, 7);

  // Aliases: the "smtp:" proxy addresses, mapped to alice (not X500/SIP).
  auto status = service->Status("m365");
  ASSERT_TRUE(status.ok());
  const auto& aliases = (*status)[0].state.memory.aliases;
  ASSERT_EQ(aliases.count("alice@example.com"), 1u);
  EXPECT_EQ(aliases.at("alice@example.com"),
            (std::vector<std::string>{"al@example.com", "alice.w@example.com"}));
  EXPECT_EQ(aliases.size(), 1u);
  // ... and the keyservice's lookups resolve them to alice (alias_admin.h).
  auto id = ks_->GetSigningIdentity("AL@example.com");
  ASSERT_TRUE(id.ok() && id->has_value()) << (id.ok() ? "no identity" : id.error().ToString());
  EXPECT_EQ((*id)->address, "alice@example.com");
  EXPECT_TRUE(*ks_->Participates("alice.w@example.com"));

  // Changes: bob deleted, carol enabled, dave new, an alias for user7.
  auto dir = BaseDirectory();
  dir.erase(dir.begin() + 1);
  dir[1]["accountEnabled"] = true;
  dir.push_back(User("d-6", "dave@example.com"));
  dir[4 + 7]["proxyAddresses"] = {"SMTP:user7@example.com", "smtp:seven@example.com"};
  WriteDirectory(dir);
  r = service->SyncSource("m365", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  stats = source->last_stats();
  EXPECT_TRUE(stats.incremental);
  EXPECT_EQ(stats.entries, 4);  // only the changes (bob's as @removed)
  EXPECT_EQ(stats.requests, 1);
  EXPECT_EQ(graph.Stats()["delta_rounds_incremental"], 1);
  EXPECT_EQ(r->applied_counts, (std::map<std::string, uint32_t>{
                                   {"add", 2}, {"alias", 1}, {"disable", 1}}));
  users = Users();
  EXPECT_TRUE(users.count("dave@example.com") && users.count("carol@example.com"));
  EXPECT_TRUE(*ks_->Participates("seven@example.com"));
  EXPECT_FALSE(users.at("bob@example.com"));  // disabled: kept, not participating

  // Nothing changed: an empty delta, no change applied.
  r = service->SyncSource("m365", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(source->last_stats().entries, 0);
  EXPECT_TRUE(r->applied_counts.empty());

  // A restart continues from the stored delta link.
  WriteDirectory([&] { dir.push_back(User("e-7", "erin@example.com")); return dir; }());
  GraphSource* again = nullptr;
  auto restarted = Service(Config(graph), &again);
  r = restarted->SyncSource("m365", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(again->last_stats().incremental);
  EXPECT_EQ(again->last_stats().entries, 1);
  EXPECT_EQ(r->applied_counts, (std::map<std::string, uint32_t>{{"add", 1}}));
}

TEST_F(DirectoryGraphTest, GroupMembersParticipate) {
  auto dir = BaseDirectory();
  dir[0]["groups"] = {"grp-1"};
  dir[5]["groups"] = {"grp-1", "grp-2"};
  WriteDirectory(dir);
  FakeGraph graph(dir_s_, {"--page-size", "1000"});
  auto c = Config(graph);
  c.group = "grp-1";
  GraphSource* source = nullptr;
  auto service = Service(c, &source);
  auto r = service->SyncSource("m365", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto users = Users();
  EXPECT_EQ(users.size(), 202u);
  int participating = 0;
  for (const auto& [address, p] : users) participating += p ? 1 : 0;
  EXPECT_EQ(participating, 2);
  EXPECT_TRUE(users.at("alice@example.com"));
  EXPECT_TRUE(users.at("user0@example.com"));
  EXPECT_FALSE(users.at("bob@example.com"));
  EXPECT_EQ(graph.Stats()["group"], 1);
}

TEST_F(DirectoryGraphTest, PlainListingWithoutDelta) {
  WriteDirectory(BaseDirectory());
  FakeGraph graph(dir_s_, {"--page-size", "100"});
  auto c = Config(graph);
  c.delta = false;
  GraphSource* source = nullptr;
  auto service = Service(c, &source);
  for (int run = 0; run < 2; ++run) {
    auto r = service->SyncSource("m365", false);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_FALSE(source->last_stats().incremental);
    EXPECT_EQ(source->last_stats().entries, 205);
  }
  EXPECT_EQ(Users().size(), 202u);
  auto fake = graph.Stats();
  EXPECT_EQ(fake["users"], 6);  // 3 pages per run
  EXPECT_EQ(fake["delta"], 0);
  EXPECT_EQ(fake["token"], 1);  // the token is kept between runs
}

TEST_F(DirectoryGraphTest, HostileAnswersFailTheRunAndChangeNothing) {
  WriteDirectory(BaseDirectory());
  struct Case {
    std::string flag;
    ErrorCode code;
    std::string message;
  };
  for (const auto& k : std::vector<Case>{
           {"foreign-next", ErrorCode::kPermissionDenied, "does not point to https://127.0.0.1:"},
           {"bad-json", ErrorCode::kInvalidArgument, "Graph answer: not JSON (page 1)"},
           {"huge", ErrorCode::kResourceExhausted, "answer larger than 1048576 bytes"},
           {"bad-shape", ErrorCode::kInvalidArgument, "a user entry without an id"}}) {
    FakeGraph graph(dir_s_, {"--hostile", k.flag});
    auto c = Config(graph);
    c.max_answer_bytes = 1 << 20;
    GraphSource* source = nullptr;
    auto service = Service(c, &source);
    auto r = service->SyncSource("m365", false);
    ASSERT_FALSE(r.ok()) << k.flag;
    EXPECT_EQ(r.error().code, k.code) << k.flag << ": " << r.error().ToString();
    EXPECT_NE(r.error().message.find(k.message), std::string::npos) << r.error().message;
    EXPECT_TRUE(Users().empty());
    auto status = service->Status("m365");
    ASSERT_TRUE(status.ok());
    EXPECT_FALSE((*status)[0].state.last_run.ok);
  }
}

TEST_F(DirectoryGraphTest, SecretAndTlsAreChecked) {
  WriteDirectory(BaseDirectory());
  FakeGraph graph(dir_s_, {});
  GraphSource* source = nullptr;
  auto c = Config(graph);
  testing::WriteFile(dir_.path() / "wrong", "not-the-secret\n");
  c.client_secret_file = dir_s_ + "/wrong";
  auto r = Service(c, &source)->SyncSource("m365", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("invalid_client"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("not-the-secret"), std::string::npos);

  c = Config(graph);
  c.client_secret_file.clear();
  c.client_secret_env = "SG_TEST_GRAPH_SECRET";
  ::setenv("SG_TEST_GRAPH_SECRET", kSecret, 1);  // NOLINT(concurrency-mt-unsafe)
  r = Service(c, &source)->SyncSource("m365", false);
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  ::unsetenv("SG_TEST_GRAPH_SECRET");  // NOLINT(concurrency-mt-unsafe)

  c = Config(graph);
  c.ca_file = dir_s_ + "/other.crt";  // does not verify the server
  c.cache_file = dir_s_ + "/state/other.graph";
  r = Service(c, &source)->SyncSource("m365", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
}

}  // namespace
}  // namespace sg::keyservice
