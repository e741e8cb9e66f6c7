// The keyservice as the gateway runs it: KeyServiceServer on a free
// loopback port, driven over gRPC by KeyServiceClient (as a remote worker)
// and by the real smimegatectl binary (as an admin).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_server.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;

using CtlRun = testing::CommandOutput;  // stdout and stderr

CtlRun Ctl(const std::string& args) {
  return testing::RunCommand(std::string(SMIMEGATECTL_PATH) + " " + args);
}

class KeyServiceGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_.path());
    auto server = KeyServiceServer::Create(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_TRUE(server_->Ready());
    endpoint_ = server_->bound_endpoint();
    // A remote worker and a remote admin, each with its role's certificate.
    client_ = Connect(testing::RoleCredentials(server_->admin(), "worker"));
    admin_ = Connect(testing::AdminCredentials(config_));
  }
  void TearDown() override {
    client_.reset();
    admin_.reset();
    if (server_) server_->Stop();
  }
  std::unique_ptr<KeyServiceClient> Connect(const ClientCredentials& credentials) {
    auto c = KeyServiceClient::Create(endpoint_, credentials, 10s);
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  CtlRun CtlE(const std::string& args) {
    return Ctl("--endpoint " + endpoint_ + " --credentials " + config_.admin_credentials + " " + args);
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  SystemClock clock_;
  std::unique_ptr<KeyServiceServer> server_;
  std::string endpoint_;
  std::unique_ptr<KeyServiceClient> client_;  // role worker
  std::unique_ptr<KeyServiceClient> admin_;   // role admin
};

TEST_F(KeyServiceGrpcTest, RemoteWorkerSeesTheSameKeysAsInProcess) {
  ASSERT_TRUE(admin_->PutUsers({User{"alice@example.com", true, ""}}).ok());
  auto remote = client_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(remote.ok()) << remote.error().ToString();
  ASSERT_TRUE(remote->has_value());
  auto local = server_->local().GetSigningIdentity("alice@example.com");
  EXPECT_EQ((*local)->key_id, (*remote)->key_id);
  EXPECT_EQ((*local)->private_key_der, (*remote)->private_key_der);
  EXPECT_EQ((*remote)->chain_der.size(), 1u);
  EXPECT_FALSE(client_->GetSigningIdentity("nobody@example.com")->has_value());
  EXPECT_EQ(client_->GetDecryptionKeys("alice@example.com")->size(), 1u);
  EXPECT_TRUE(*client_->Participates("alice@example.com"));
  auto bad = client_->GetSigningIdentity("no-at-sign");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto anchors = client_->GetTrustAnchors();
  ASSERT_TRUE(anchors.ok());
  EXPECT_EQ(anchors->der.size(), 1u);  // our own root (system roots off in tests)
  auto harvest = client_->HarvestCertificate(HarvestRequest{"x@partner.example", "junk", {}, "", {}});
  ASSERT_TRUE(harvest.ok());
  EXPECT_EQ(harvest->outcome, HarvestOutcome::kRejected);
}

TEST_F(KeyServiceGrpcTest, ChangeEventsReachRemoteWatchers) {
  auto first = client_->WaitForChanges(0, 0, 0ms);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(first->reset);
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(server_->admin().AddDomain(Domain{"new.example", ""}).ok());
  });
  auto changes = client_->WaitForChanges(first->epoch, first->version, 5000ms);
  writer.join();
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  ASSERT_EQ(changes->events.size(), 1u);
  EXPECT_EQ(changes->events[0].kind, "domain");
  EXPECT_EQ(changes->events[0].subject, "@new.example");
}

TEST_F(KeyServiceGrpcTest, UnreachableKeyserviceIsUnavailable) {
  server_->Stop();
  auto r = client_->Participates("a@example.com");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find(endpoint_), std::string::npos);
  CtlRun run = CtlE("user list");
  EXPECT_EQ(run.rc, 3) << run.out;
  server_.reset();
}

// The error of a call, none when it succeeded.
template <typename R>
std::optional<Error> ErrorOf(const R& r) {
  return r.ok() ? std::nullopt : std::optional<Error>(r.error());
}

// Runs `call` (waiting for a keyservice that is gone) on another thread and
// shuts `client` down 300 ms later: the call must end at once, as an outage.
void ExpectShutdownCancels(KeyServiceClient& client,
                           const std::function<std::optional<Error>()>& call) {
  const auto started = std::chrono::steady_clock::now();
  std::thread caller([&] {
    const std::optional<Error> e = call();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, ErrorCode::kUnavailable);
    EXPECT_NE(e->message.find("shutting down"), std::string::npos) << e->message;
  });
  std::this_thread::sleep_for(300ms);  // the call is waiting for the keyservice now
  client.Shutdown();
  caller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

// Issue 23: a worker's call waiting (wait_for_ready) for a keyservice that is
// gone held its thread until the call's deadline, and so the worker's
// shutdown. Shutdown() cancels it at once, as an outage (kUnavailable).
TEST_F(KeyServiceGrpcTest, ShutdownCancelsACallWaitingForAGoneKeyservice) {
  auto waiting = KeyServiceClient::Create(endpoint_, testing::RoleCredentials(server_->admin(), "worker"),
                                          30s, /*wait_for_ready=*/true);
  ASSERT_TRUE(waiting.ok());
  server_->Stop();
  server_.reset();
  ExpectShutdownCancels(**waiting, [&] { return ErrorOf((*waiting)->Participates("a@example.com")); });
  // Later calls fail at once.
  auto later = (*waiting)->Participates("b@example.com");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
}

// The same for the DKIM calls (dkim_grpc_client.cc): a worker's GetDkimKey
// waiting for a gone keyservice is cancelled by Shutdown, and later DKIM
// calls fail at once.
TEST_F(KeyServiceGrpcTest, ShutdownCancelsADkimCallInProgress) {
  ASSERT_TRUE(server_->impl().DkimKeygen("example.com", "s1", "ed25519").ok());
  ASSERT_TRUE(server_->impl().DkimActivate("example.com", "s1").ok());
  auto waiting =
      KeyServiceClient::Create(endpoint_, testing::RoleCredentials(server_->admin(), "worker"), 30s,
                               /*wait_for_ready=*/true);
  ASSERT_TRUE(waiting.ok());
  auto first = (*waiting)->GetDkimKey("example.com");
  ASSERT_TRUE(first.ok() && first->has_value()) << "the call works before";
  server_->Stop();
  server_.reset();
  ExpectShutdownCancels(**waiting, [&] { return ErrorOf((*waiting)->GetDkimKey("example.com")); });
  auto later_start = std::chrono::steady_clock::now();
  auto later = (*waiting)->DkimList("example.com");
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.error().message.find("shutting down"), std::string::npos)
      << later.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - later_start, 1s);
}

TEST_F(KeyServiceGrpcTest, SmimegatectlManagesTheRunningKeyservice) {
  CtlRun r = Ctl("--help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("user"), std::string::npos);
  r = Ctl("user import --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("CSV"), std::string::npos) << r.out;

  r = CtlE("domain add partner-hosted.example");
  EXPECT_EQ(r.rc, 0) << r.out;
  r = CtlE("domain list");
  EXPECT_NE(r.out.find("example.com"), std::string::npos);
  EXPECT_NE(r.out.find("partner-hosted.example\tdefault\tbuiltin\tnot required (builtin)"),
            std::string::npos) << r.out;
  // Domain validation: the record to publish, then the state in the list.
  r = CtlE("domain validate partner-hosted.example");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("name:  _smimegate-challenge.partner-hosted.example\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("value: smimegate-domain-validation="), std::string::npos) << r.out;
  r = CtlE("domain list");
  EXPECT_NE(r.out.find("partner-hosted.example\tdefault\tbuiltin\tpending (next check "), std::string::npos)
      << r.out;
  r = CtlE("domain validate unhosted.example");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("domain add unhosted.example"), std::string::npos) << r.out;

  r = CtlE("user add alice@example.com");
  EXPECT_EQ(r.rc, 0) << r.out;
  r = CtlE("user add mallory@unhosted.example");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("domain add unhosted.example"), std::string::npos) << r.out;

  auto csv = testing::WriteFile(dir_.path() / "users.csv",
                                "address,participating\nbob@example.com,yes\ncarol@example.com,no\n");
  r = CtlE("user import " + csv);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2 users"), std::string::npos) << r.out;
  auto bad_csv = testing::WriteFile(dir_.path() / "bad.csv", "dave@example.com\nerin@@x\n");
  r = CtlE("user import " + bad_csv);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find(bad_csv + ":2: "), std::string::npos) << r.out;
  r = CtlE("user list");
  EXPECT_NE(r.out.find("alice@example.com\tparticipating"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("carol@example.com\tnot-participating"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("dave@"), std::string::npos) << "a bad file imports nothing";

  // Issue, roll over, list and export.
  r = CtlE("key rollover alice@example.com");
  EXPECT_EQ(r.rc, 0) << r.out;
  r = CtlE("key rollover alice@example.com");
  EXPECT_EQ(r.rc, 0) << r.out;
  r = CtlE("cert list --owner alice@example.com");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_NE(r.out.find("current"), std::string::npos) << r.out;
  auto pem_path = dir_.path() / "alice.pem";
  r = CtlE("cert export alice@example.com --out " + pem_path.string());
  EXPECT_EQ(r.rc, 0) << r.out;
  auto current = server_->local().GetSigningIdentity("alice@example.com");
  std::ifstream in(pem_path);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(pem, CertificateToPem(ParseCertificateDer((*current)->certificate_der)->get()));
  std::string fp = Fingerprint((*current)->certificate_der);
  r = CtlE("cert show " + fp.substr(0, 12));
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("fingerprint: " + fp), std::string::npos) << r.out;

  // The CA root for partners.
  r = CtlE("ca export");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, CertificateToPem(ParseCertificateDer(server_->admin().CaExport()->root_der)->get()))
      << "one CA: its root alone, as before per-domain CAs";
  r = CtlE("ca export --label default");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, CertificateToPem(ParseCertificateDer(server_->admin().CaExport()->root_der)->get()));
  r = CtlE("ca export --label nowhere.example");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("have: default"), std::string::npos) << r.out;

  // Partner trust and domain certificates.
  auto now = std::chrono::system_clock::now();
  auto partner = testing::MakeCa("Partner CA", now);
  auto ca_pem = testing::WriteFile(dir_.path() / "partner-ca.pem", CertificateToPem(partner.cert.get()));
  r = CtlE("trust add " + ca_pem);
  EXPECT_EQ(r.rc, 0) << r.out;
  r = CtlE("trust list");
  EXPECT_NE(r.out.find(Fingerprint(partner.der)), std::string::npos) << r.out;
  // Every anchor with its origin, and the bundles (Mozilla's is off in tests).
  r = CtlE("trust list --source");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("mozilla-email\toff\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("system\toff\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("admin\t" + Fingerprint(partner.der) + "\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("own-ca\t" + Fingerprint(server_->admin().CaExport()->root_der) + "\t"),
            std::string::npos)
      << r.out;
  testing::LeafOptions lo;
  lo.email = "gw@partner.example";
  lo.not_before = now - 1h;
  lo.not_after = now + 24h * 30;
  std::string leaf = testing::MakeLeaf(partner, lo);
  auto leaf_pem = testing::WriteFile(dir_.path() / "domain.pem",
                                     CertificateToPem(ParseCertificateDer(leaf)->get()));
  r = CtlE("cert import --domain partner.example " + leaf_pem);
  EXPECT_EQ(r.rc, 0) << r.out;
  auto enc = client_->GetEncryptionCertificate("someone@partner.example");
  ASSERT_TRUE(enc.ok() && enc->has_value());
  EXPECT_TRUE((*enc)->domain_certificate);
  // A harvested personal certificate with its capabilities, over gRPC.
  lo.email = "ann@partner.example";
  std::string ann = testing::MakeLeaf(partner, lo);
  auto h = client_->HarvestCertificate(HarvestRequest{"ann@partner.example", ann, {}, "", {"id-aes256-GCM"}});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->outcome, HarvestOutcome::kStored) << h->reason;
  enc = client_->GetEncryptionCertificate("ann@partner.example");
  ASSERT_TRUE(enc.ok() && enc->has_value());
  EXPECT_FALSE((*enc)->domain_certificate);
  EXPECT_EQ((*enc)->certificate_der, ann);
  EXPECT_EQ((*enc)->capabilities, std::vector<std::string>{"id-aes256-GCM"});
  // A broken certificate file: the error names the file and the line.
  auto broken = testing::WriteFile(dir_.path() / "broken.pem",
                                   "-----BEGIN CERTIFICATE-----\nMII!\n-----END CERTIFICATE-----\n");
  r = CtlE("cert import --domain partner.example " + broken);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find(broken + ":2: certificate 1"), std::string::npos) << r.out;
  r = CtlE("trust add " + leaf_pem);  // not a CA
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("not a CA certificate"), std::string::npos) << r.out;
  r = CtlE("trust remove " + Fingerprint(partner.der));
  EXPECT_EQ(r.rc, 0) << r.out;
  r = CtlE("cert import");  // missing argument: usage error
  EXPECT_EQ(r.rc, 2) << r.out;

  // Legacy PKCS#12 import for a user, password from a file.
  lo.email = "bob@example.com";
  PkeyPtr key;
  std::string bob_cert = testing::MakeLeaf(partner, lo, &key);
  std::string p12 = testing::MakePkcs12(bob_cert, key.get(), "pw", true, dir_.path());
  auto p12_path = testing::WriteFile(dir_.path() / "bob.p12", p12);
  auto pw_path = testing::WriteFile(dir_.path() / "pw.txt", "pw\n");
  r = CtlE("key import --address bob@example.com --password-file " + pw_path + " " + p12_path);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ((*server_->local().GetSigningIdentity("bob@example.com"))->certificate_der, bob_cert);

  r = CtlE("user remove carol@example.com");
  EXPECT_EQ(r.rc, 0) << r.out;
}

TEST_F(KeyServiceGrpcTest, SmimegatectlFindsTheEndpointInTheConfig) {
  auto home = dir_.path() / "home";
  std::filesystem::create_directories(home);
  testing::WriteFile(home / "smimegate.yaml",
                     "data_dir: " + home.string() + "\nkeyservice:\n  listen: " + endpoint_ +
                         "\n  admin_credentials: " + config_.admin_credentials + "\n");
  CtlRun r = Ctl("--home " + home.string() + " domain list");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("example.com"), std::string::npos) << r.out;
  r = Ctl("--config " + (home / "missing.yaml").string() + " domain list");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("missing.yaml"), std::string::npos) << r.out;
}

// Issue 14: every smimegatectl command leaves exactly one audit record, with
// the caller's certificate subject and no secrets.
TEST_F(KeyServiceGrpcTest, EverySmimegatectlCommandLeavesOneAuditRecord) {
  auto now = std::chrono::system_clock::now();
  auto partner = testing::MakeCa("Audit Partner CA", now);
  auto ca_pem = testing::WriteFile(dir_.path() / "audit-ca.pem", CertificateToPem(partner.cert.get()));
  testing::LeafOptions lo;
  lo.not_before = now - 1h;
  lo.not_after = now + 24h * 30;
  lo.email = "ann@partner.example";
  auto leaf_pem = testing::WriteFile(dir_.path() / "ann.pem",
                                     CertificateToPem(ParseCertificateDer(testing::MakeLeaf(partner, lo))->get()));
  lo.email = "bob@example.com";
  PkeyPtr key;
  std::string bob = testing::MakeLeaf(partner, lo, &key);
  auto p12 = testing::WriteFile(dir_.path() / "bob.p12",
                                testing::MakePkcs12(bob, key.get(), "p12-secret", false, dir_.path()));
  auto pw = testing::WriteFile(dir_.path() / "pw", "p12-secret\n");
  auto csv = testing::WriteFile(dir_.path() / "u.csv", "carol@example.com,no\n");
  std::string fp = Fingerprint(partner.der);
  // A certificate a worker harvested from a CA nobody trusts yet: pending.
  auto pending_ca = testing::MakeCa("Audit Pending CA", now);
  lo.email = "dave@pending.example";
  auto harvested = client_->HarvestCertificate(
      HarvestRequest{"dave@pending.example", testing::MakeLeaf(pending_ca, lo), {pending_ca.der}, "", {}});
  ASSERT_TRUE(harvested.ok()) << harvested.error().ToString();
  ASSERT_EQ(harvested->outcome, HarvestOutcome::kPending) << harvested->reason;
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"domain add other.example", "KeyAdmin/AddDomain"},
      {"domain list", "KeyAdmin/ListDomains"},
      {"domain validate other.example", "KeyAdmin/DomainValidate"},
      {"user add alice@example.com", "KeyAdmin/PutUsers"},
      {"user add bob@example.com", "KeyAdmin/PutUsers"},
      {"user import " + csv, "KeyAdmin/PutUsers"},
      {"user list", "KeyAdmin/ListUsers"},
      {"key rollover alice@example.com", "KeyAdmin/Rollover"},
      {"key revoke alice@example.com --reason superseded", "KeyAdmin/RevokeKey"},
      {"key import --address bob@example.com --password-file " + pw + " " + p12, "KeyAdmin/ImportKey"},
      {"cert list", "KeyAdmin/ListCertificates"},
      {"cert export alice@example.com", "KeyAdmin/ListCertificates"},
      {"trust add " + ca_pem, "KeyAdmin/TrustAdd"},
      {"trust list", "KeyAdmin/ListCertificates"},
      {"cert import " + leaf_pem, "KeyAdmin/ImportCertificates"},
      {"cert show " + fp.substr(0, 12), "KeyAdmin/ListCertificates"},
      {"trust list --pending", "KeyAdmin/ListCertificates"},
      {"trust list --source", "KeyAdmin/TrustSources"},
      {"trust approve " + harvested->fingerprint, "KeyAdmin/TrustApprovePending"},
      {"trust remove " + fp, "KeyAdmin/TrustRemove"},
      {"ca export", "KeyAdmin/CaExport"},
      {"credentials issue --role reader --out " + (dir_.path() / "reader").string(),
       "KeyAdmin/IssueCredentials"},
      {"kek rotate", "KeyAdmin/RotateKek"},
      {"user remove carol@example.com", "KeyAdmin/RemoveUser"},
      {"reseller add sh1 --name 'System House'", "KeyAdmin/ResellerAdd"},
      {"tenant add acme --reseller sh1", "KeyAdmin/TenantAdd"},
      {"domain add acme.example --tenant acme", "KeyAdmin/AddDomain"},
      {"tenant list --json", "KeyAdmin/TenantList"},
      {"tenant show acme", "KeyAdmin/TenantShow"},
      {"reseller list --json", "KeyAdmin/ResellerList"},
      {"reseller show sh1 --json", "KeyAdmin/ResellerShow"},
      {"tenant route set acme mail.acme.example:2525 --tls verify", "KeyAdmin/TenantRouteSet"},
      {"tenant route show acme --json", "KeyAdmin/TenantShow"},
      {"tenant route clear acme", "KeyAdmin/TenantRouteClear"},
      {"tenant bind acme network 10.9.0.0/24", "KeyAdmin/TenantBind"},
      {"tenant bindings --tenant acme --json", "KeyAdmin/TenantShow"},
      {"tenant unbind network 10.9.0.0/24", "KeyAdmin/TenantUnbind"},
      {"usage snapshot", "KeyAdmin/UsageSnapshot"},
      {"usage set-total acme.example 40", "KeyAdmin/UsageSetTotal"},
      {"usage report --month 2026-11 --format csv", "KeyAdmin/UsageReport"},
      {"domain remove acme.example", "KeyAdmin/TenantRemoveDomain"},
      {"tenant remove acme", "KeyAdmin/TenantRemove"},
      {"reseller remove sh1", "KeyAdmin/ResellerRemove"},
      {"audit list", "KeyAdmin/ListAudit"},
      {"user add nobody@unhosted.example", "KeyAdmin/PutUsers"},  // refused: audited too
  };
  std::string admin_subject;
  for (const auto& [command, method] : commands) {
    size_t before = server_->impl().ListAudit(0, 10000)->size();
    CtlRun r = CtlE(command);
    if (method != "KeyAdmin/PutUsers" || command.find("unhosted") == std::string::npos) {
      EXPECT_EQ(r.rc, 0) << command << ": " << r.out;
    }
    auto after = server_->impl().ListAudit(0, 10000);
    ASSERT_EQ(after->size(), before + 1) << command << " should leave exactly one record";
    const AuditRecord& rec = after->back();
    EXPECT_EQ(rec.method, method) << command;
    EXPECT_EQ(rec.role, "admin") << command;
    EXPECT_NE(rec.subject.find("CN=local admin"), std::string::npos) << command << ": " << rec.subject;
    EXPECT_EQ(rec.arguments.find("p12-secret"), std::string::npos) << command;
    if (admin_subject.empty()) admin_subject = rec.subject;
    EXPECT_EQ(rec.subject, admin_subject);
  }
  auto all = server_->impl().ListAudit(0, 10000);
  EXPECT_EQ(all->back().result, "NOT_FOUND") << "the refused call is recorded with its result";
  // audit list shows them, --since filters.
  CtlRun r = CtlE("audit list --since 1h");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("KeyAdmin/ImportKey"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("password: <redacted>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(admin_subject), std::string::npos) << r.out;
  r = CtlE("audit list --since 2099-01-01");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "");
  r = CtlE("audit list --since yesterday");
  EXPECT_EQ(r.rc, 2) << r.out;
}

TEST_F(KeyServiceGrpcTest, CredentialsIssueWritesPrivateFilesThatWork) {
  auto out = dir_.path() / "worker-creds";
  CtlRun r = CtlE("credentials issue --role worker --name worker-7 --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* f : {"cert.pem", "key.pem", "ca.pem"}) {
    ASSERT_EQ(::stat((out / f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  auto creds = CredentialsFromDir(out.string(), "");
  ASSERT_TRUE(creds.ok());
  auto worker = Connect(*creds);
  ASSERT_TRUE(worker);
  ASSERT_TRUE(admin_->PutUsers({User{"alice@example.com", true, ""}}).ok());
  EXPECT_TRUE(worker->GetSigningIdentity("alice@example.com").ok()) << "a worker gets keys";
  auto denied = worker->PutUsers({User{"eve@example.com", true, ""}});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  // Only an admin issues credentials: smimegatectl with reader credentials is refused.
  auto reader_dir = dir_.path() / "reader-creds";
  ASSERT_EQ(CtlE("credentials issue --role reader --out " + reader_dir.string()).rc, 0);
  r = Ctl("--endpoint " + endpoint_ + " --credentials " + reader_dir.string() +
          " credentials issue --role admin --out " + (dir_.path() / "stolen").string());
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("only the admin role"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "stolen" / "cert.pem"));
  r = Ctl("--endpoint " + endpoint_ + " --credentials " + reader_dir.string() + " user list");
  EXPECT_EQ(r.rc, 0) << "a reader lists users: " << r.out;
  r = CtlE("credentials issue --role superuser --out " + (dir_.path() / "x").string());
  EXPECT_EQ(r.rc, 2) << r.out;
}

TEST_F(KeyServiceGrpcTest, MissingCredentialsSayWhatToDo) {
  CtlRun r = Ctl("--endpoint " + endpoint_ + " --credentials " + (dir_.path() / "none").string() +
                 " user list");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find((dir_.path() / "none" / "cert.pem").string() + " not found"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("smimegatectl credentials issue --role admin --out DIR"), std::string::npos)
      << r.out;
  // A home without credentials: the same, naming where it looked.
  auto home = dir_.path() / "emptyhome";
  std::filesystem::create_directories(home);
  r = Ctl("--home " + home.string() + " user list");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find((home / "credentials" / "admin" / "cert.pem").string()), std::string::npos)
      << r.out;
  // Without TLS credentials the keyservice does not answer at all.
  r = Ctl("--endpoint " + endpoint_ + " --cert " + config_.admin_credentials + "/cert.pem user list");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("--cert, --key and --ca go together"), std::string::npos) << r.out;
}

// Issue 16 point 9: cert import finds the address in the certificate; --out
// errors exit non-zero; cert list prints whole fingerprints.
TEST_F(KeyServiceGrpcTest, SmimegatectlDetails) {
  auto now = std::chrono::system_clock::now();
  auto partner = testing::MakeCa("Partner CA", now);
  ASSERT_EQ(CtlE("trust add " + testing::WriteFile(dir_.path() / "ca.pem",
                                                    CertificateToPem(partner.cert.get()))).rc, 0);
  testing::LeafOptions lo;
  lo.email = "Zoe@Partner.Example";
  lo.not_before = now - 1h;
  lo.not_after = now + 24h;
  std::string zoe = testing::MakeLeaf(partner, lo);
  auto zoe_pem = testing::WriteFile(dir_.path() / "zoe.pem", CertificateToPem(ParseCertificateDer(zoe)->get()));
  CtlRun r = CtlE("cert import " + zoe_pem);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("address from the certificate: zoe@partner.example"), std::string::npos) << r.out;
  auto enc = client_->GetEncryptionCertificate("zoe@partner.example");
  ASSERT_TRUE(enc.ok() && enc->has_value());
  EXPECT_EQ((*enc)->certificate_der, zoe);
  // A certificate without an address needs --address or --domain.
  auto no_mail = testing::WriteFile(dir_.path() / "root.pem", CertificateToPem(partner.cert.get()));
  r = CtlE("cert import " + no_mail);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("names no email address; give --address or --domain"), std::string::npos) << r.out;

  r = CtlE("cert list --owner zoe@partner.example");
  EXPECT_NE(r.out.find(Fingerprint(zoe) + "\t"), std::string::npos) << "the whole fingerprint: " << r.out;

  r = CtlE("ca export --out /nonexistent-dir/ca.pem");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("/nonexistent-dir/ca.pem: cannot write"), std::string::npos) << r.out;
  r = CtlE("cert export zoe@partner.example --out /dev/full");
  EXPECT_EQ(r.rc, 2) << r.out;
}

}  // namespace
}  // namespace sg::keyservice

namespace sg::keyservice {
namespace {

// `--json` of every keyservice list command (docs/tenants.md "JSON output of
// the lists"): a JSON array on stdout whose objects have the documented fields.
TEST_F(KeyServiceGrpcTest, EveryListAnswersWithTheDocumentedJsonFields) {
  ASSERT_TRUE(admin_->PutUsers({User{"alice@example.com", true, ""}}).ok());
  ASSERT_TRUE(client_->GetSigningIdentity("alice@example.com").ok());  // an own certificate
  ASSERT_TRUE(admin_->ResellerAdd(Reseller{"sh1", "System House"}).ok());
  ASSERT_TRUE(admin_->TenantAdd(Tenant{"acme", "ACME", "sh1"}).ok());
  const std::vector<std::pair<std::string, std::vector<std::string>>> lists = {
      {"user list", {"address", "participating", "tenant"}},
      {"domain list",
       {"name", "tenant", "ca_backend", "needs_validation", "validation_state", "validated_at",
        "valid_until", "next_check_at", "validation_reason", "record_name", "record_value"}},
      {"tenant list", {"id", "name", "reseller", "created_at", "domains"}},
      {"reseller list", {"id", "name", "created_at", "tenants"}},
      {"cert list",
       {"fingerprint", "owner", "kind", "subject", "issuer", "not_before", "not_after",
        "has_private_key", "current", "origin"}},
      {"trust list --source",
       {"fingerprint", "owner", "kind", "subject", "issuer", "not_before", "not_after",
        "has_private_key", "current", "origin"}},
      {"audit list", {"time_us", "subject", "role", "method", "arguments", "result", "message"}},
  };
  for (const auto& [command, fields] : lists) {
    // Only stdout is JSON: stderr goes to /dev/null inside the sub-shell.
    const testing::CommandOutput r = testing::RunCommand(
        "(" + std::string(SMIMEGATECTL_PATH) + " --endpoint " + endpoint_ + " --credentials " +
        config_.admin_credentials + " " + command + " --json 2>/dev/null)");
    ASSERT_EQ(r.rc, 0) << command << ": " << r.out;
    const std::string& out = r.out;
    auto json = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(json.is_array()) << command << ": " << out;
    ASSERT_FALSE(json.empty()) << command;
    for (const auto& field : fields) {
      EXPECT_TRUE(json[0].contains(field)) << command << " lacks " << field << ": " << out;
    }
    EXPECT_EQ(json[0].size(), fields.size()) << command << ": undocumented fields: " << out;
  }
  CtlRun r = CtlE("tenant show acme --json");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto acme = nlohmann::json::parse(r.out);
  EXPECT_EQ(acme["reseller"], "sh1");
  EXPECT_EQ(acme["name"], "ACME");
}

}  // namespace
}  // namespace sg::keyservice
