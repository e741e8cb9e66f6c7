// The keyservice as a trust boundary (issue 14): who may call what over
// gRPC, checked with raw stubs against a real server: mutual TLS, roles per
// method (deny by default, private keys only for workers), further services
// on the same server (the Dkim service through KeyServiceClient), the Unix
// socket, no shared ports, and certificate rotation while workers call.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_server.h"
#include "keyservice/rpc_channel.h"
#include "proto/keyservice.grpc.pb.h"
#include "tests/keyservice/extra_service.grpc.pb.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
namespace pb = ::smimegate::keyservice::v1;
namespace tpb = ::smimegate::test;

// A channel of its own (no connection shared with other channels).
std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint,
                                       std::shared_ptr<grpc::ChannelCredentials> creds,
                                       const std::string& server_name = "smimegate-keyservice") {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(endpoint, creds, args);
}

std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint, const ClientCredentials& c) {
  return Channel(endpoint, MakeChannelCredentials(c), c.server_name);
}

struct Deadline : grpc::ClientContext {
  Deadline() { set_deadline(std::chrono::system_clock::now() + 5s); }
};

grpc::Status DecryptionKeys(const std::shared_ptr<grpc::Channel>& ch, pb::DecryptionKeysResponse* r) {
  Deadline ctx;
  pb::AddressRequest req;
  req.set_address("alice@example.com");
  return pb::KeyService::NewStub(ch)->GetDecryptionKeys(&ctx, req, r);
}

grpc::Status SigningIdentity(const std::shared_ptr<grpc::Channel>& ch) {
  Deadline ctx;
  pb::AddressRequest req;
  req.set_address("alice@example.com");
  pb::SigningIdentityResponse r;
  return pb::KeyService::NewStub(ch)->GetSigningIdentity(&ctx, req, &r);
}

grpc::Status TrustAdd(const std::shared_ptr<grpc::Channel>& ch, const std::string& der) {
  Deadline ctx;
  pb::TrustAddRequest req;
  req.add_der(der);
  pb::TrustAddResponse r;
  return pb::KeyAdmin::NewStub(ch)->TrustAdd(&ctx, req, &r);
}

grpc::Status ImportKey(const std::shared_ptr<grpc::Channel>& ch, const std::string& p12) {
  Deadline ctx;
  pb::KeyImportRequest req;
  req.set_owner("bob@example.com");
  req.set_pkcs12(p12);
  req.set_password("pw");
  pb::KeyImportResponse r;
  return pb::KeyAdmin::NewStub(ch)->ImportKey(&ctx, req, &r);
}

grpc::Status Participates(const std::shared_ptr<grpc::Channel>& ch, std::string* server_cert = nullptr) {
  Deadline ctx;
  pb::AddressRequest req;
  req.set_address("alice@example.com");
  pb::ParticipatesResponse r;
  grpc::Status s = pb::KeyService::NewStub(ch)->Participates(&ctx, req, &r);
  if (server_cert != nullptr && ctx.auth_context()) {
    auto v = ctx.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!v.empty()) server_cert->assign(v[0].data(), v[0].size());
  }
  return s;
}

class ExtraService final : public tpb::Extra::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const tpb::ExtraRequest* req, tpb::ExtraResponse* resp) override {
    resp->set_text(req->text());
    return grpc::Status::OK;
  }
  grpc::Status Open(grpc::ServerContext*, const tpb::ExtraRequest* req, tpb::ExtraResponse* resp) override {
    resp->set_text(req->text());
    return grpc::Status::OK;
  }
};

grpc::Status CallExtra(const std::shared_ptr<grpc::Channel>& ch, bool open) {
  Deadline ctx;
  tpb::ExtraRequest req;
  req.set_text("hello");
  req.set_token("s3cret-token");
  req.set_blob("blob bytes");
  tpb::ExtraResponse r;
  auto stub = tpb::Extra::NewStub(ch);
  return open ? stub->Open(&ctx, req, &r) : stub->Echo(&ctx, req, &r);
}

class KeyServiceAccessTest : public ::testing::Test {
 protected:
  void SetUp() override { config_ = testing::TestConfig(dir_.path()); }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  // Starts the server; `before_start` may register further services.
  void Start(const std::function<void(KeyServiceServer&)>& before_start = nullptr) {
    auto server = KeyServiceServer::Create(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(*server);
    if (before_start) before_start(*server_);
    auto st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    endpoint_ = server_->bound_endpoint();
  }
  // Users, a partner CA and a PKCS#12 to try the calls with.
  void Populate() {
    auto& admin = server_->admin();
    ASSERT_TRUE(admin.PutUsers({User{"alice@example.com", true, ""}, User{"bob@example.com", true, ""}}).ok());
    ASSERT_TRUE(server_->local().GetSigningIdentity("alice@example.com").ok());
    auto now = std::chrono::system_clock::now();
    partner_ = testing::MakeCa("Partner CA", now);
    testing::LeafOptions lo;
    lo.email = "bob@example.com";
    lo.not_before = now - 1h;
    lo.not_after = now + 24h;
    PkeyPtr key;
    std::string cert = testing::MakeLeaf(partner_, lo, &key);
    p12_ = testing::MakePkcs12(cert, key.get(), "pw", false, dir_.path());
  }
  // Everything an attacker could have changed.
  std::string Snapshot() {
    std::string out;
    auto certs = server_->admin().ListCertificates("", "");
    auto users = server_->admin().ListUsers("");
    for (const auto& c : *certs) out += c.kind + " " + c.fingerprint + "\n";
    for (const auto& u : *users) out += "user " + u.address + "\n";
    return out;
  }
  ClientCredentials Role(const std::string& role) {
    return testing::RoleCredentials(server_->admin(), role, role + " test");
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  SystemClock clock_;
  std::unique_ptr<KeyServiceServer> server_;
  std::string endpoint_;
  testing::TestCa partner_;
  std::string p12_;
};

TEST_F(KeyServiceAccessTest, RefusedCallersGetNoKeysAndChangeNothing) {
  Start();
  Populate();
  std::string before = Snapshot();
  std::string ca_pem = server_->impl().internal_ca().CaPem();

  // A client certificate from another CA (another keyservice's internal CA),
  // claiming the admin role; the server is verified against ours.
  testing::TempDir other_dir;
  metrics::Registry other_registry;
  auto other = KeyServiceImpl::Open(testing::TestConfig(other_dir.path()), {}, other_registry, clock_);
  ASSERT_TRUE(other.ok());
  ClientCredentials foreign = testing::RoleCredentials(**other, "admin");
  foreign.ca_pem = ca_pem;
  ClientCredentials no_cert;
  no_cert.ca_pem = ca_pem;

  struct Caller {
    std::string name;
    std::shared_ptr<grpc::Channel> channel;
    grpc::StatusCode expected;
  };
  std::vector<Caller> callers = {
      // Refused by the TLS handshake: no method is ever reached.
      {"plaintext", Channel(endpoint_, grpc::InsecureChannelCredentials()), grpc::UNAVAILABLE},
      {"foreign CA", Channel(endpoint_, foreign), grpc::UNAVAILABLE},
      // TLS without a client certificate: every call UNAUTHENTICATED.
      {"no certificate", Channel(endpoint_, no_cert), grpc::UNAUTHENTICATED},
      {"reader", Channel(endpoint_, Role("reader")), grpc::PERMISSION_DENIED},
      {"ingress", Channel(endpoint_, Role("ingress")), grpc::PERMISSION_DENIED},
      // An egress pod's admin-port identity opens no keyservice method.
      {"egress", Channel(endpoint_, Role("egress")), grpc::PERMISSION_DENIED},
  };
  for (const auto& c : callers) {
    pb::DecryptionKeysResponse keys;
    grpc::Status s = DecryptionKeys(c.channel, &keys);
    EXPECT_EQ(s.error_code(), c.expected) << c.name << ": " << s.error_message();
    EXPECT_EQ(keys.keys_size(), 0) << c.name;
    s = TrustAdd(c.channel, partner_.der);
    EXPECT_EQ(s.error_code(), c.expected) << c.name << ": " << s.error_message();
    s = ImportKey(c.channel, p12_);
    EXPECT_EQ(s.error_code(), c.expected) << c.name << ": " << s.error_message();
  }
  EXPECT_EQ(Snapshot(), before) << "nothing changed in the store";
  EXPECT_TRUE(server_->impl().ListAudit(0, 100)->empty()) << "no admin call happened";
}

TEST_F(KeyServiceAccessTest, WorkerReadsKeysButCannotChangeAnything) {
  Start();
  Populate();
  std::string before = Snapshot();
  auto worker = Channel(endpoint_, Role("worker"));
  pb::DecryptionKeysResponse keys;
  ASSERT_TRUE(DecryptionKeys(worker, &keys).ok());
  EXPECT_EQ(keys.keys_size(), 1);
  EXPECT_FALSE(keys.keys(0).private_key_der().empty());
  EXPECT_TRUE(SigningIdentity(worker).ok());
  EXPECT_EQ(TrustAdd(worker, partner_.der).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(ImportKey(worker, p12_).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(KeyServiceAccessTest, AdminDoesEverythingButNeverReceivesPrivateKeys) {
  Start();
  Populate();
  auto admin = Channel(endpoint_, testing::AdminCredentials(config_));
  EXPECT_TRUE(TrustAdd(admin, partner_.der).ok());
  grpc::Status s = ImportKey(admin, p12_);
  EXPECT_TRUE(s.ok()) << s.error_message();
  pb::DecryptionKeysResponse keys;
  EXPECT_EQ(DecryptionKeys(admin, &keys).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(keys.keys_size(), 0);
  EXPECT_EQ(SigningIdentity(admin).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_TRUE(Participates(admin).ok());
  // Both admin calls are audited with the admin's certificate subject; the
  // PKCS#12 and its password are not in the record.
  auto audit = server_->impl().ListAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 3u) << "TrustAdd, ImportKey, Participates";
  EXPECT_EQ((*audit)[0].method, "KeyAdmin/TrustAdd");
  EXPECT_EQ((*audit)[0].result, "OK");
  EXPECT_NE((*audit)[0].subject.find("local admin"), std::string::npos) << (*audit)[0].subject;
  EXPECT_NE((*audit)[0].arguments.find("sha256:" + Fingerprint(partner_.der)), std::string::npos);
  EXPECT_EQ((*audit)[1].method, "KeyAdmin/ImportKey");
  EXPECT_NE((*audit)[1].arguments.find("pkcs12: <redacted>"), std::string::npos) << (*audit)[1].arguments;
  EXPECT_NE((*audit)[1].arguments.find("password: <redacted>"), std::string::npos);
  EXPECT_EQ((*audit)[1].arguments.find("\"pw\""), std::string::npos);
}

TEST_F(KeyServiceAccessTest, ReaderAndIngressSeePublicMaterialOnly) {
  Start();
  Populate();
  auto reader = Channel(endpoint_, Role("reader"));
  {
    Deadline ctx;
    pb::ListUsersRequest req;
    pb::ListUsersResponse r;
    EXPECT_TRUE(pb::KeyAdmin::NewStub(reader)->ListUsers(&ctx, req, &r).ok());
    EXPECT_EQ(r.users_size(), 2);
  }
  {
    Deadline ctx;
    pb::CaExportRequest req;
    pb::CaExportResponse r;
    EXPECT_TRUE(pb::KeyAdmin::NewStub(reader)->CaExport(&ctx, req, &r).ok());
  }
  {
    Deadline ctx;
    pb::ListAuditRequest req;
    pb::ListAuditResponse r;
    EXPECT_EQ(pb::KeyAdmin::NewStub(reader)->ListAudit(&ctx, req, &r).error_code(),
              grpc::PERMISSION_DENIED);
  }
  EXPECT_EQ(SigningIdentity(reader).error_code(), grpc::PERMISSION_DENIED);
  // Ingress: "is this a (participating) user?" and nothing else.
  auto ingress = Channel(endpoint_, Role("ingress"));
  EXPECT_TRUE(Participates(ingress).ok());
  {
    Deadline ctx;
    pb::AddressRequest req;
    req.set_address("x@partner.example");
    pb::EncryptionCertificateResponse r;
    EXPECT_EQ(pb::KeyService::NewStub(ingress)->GetEncryptionCertificate(&ctx, req, &r).error_code(),
              grpc::PERMISSION_DENIED);
  }
}

TEST_F(KeyServiceAccessTest, FurtherServicesAreAdminOnlyUnlessARuleOpensThem) {
  ExtraService extra;
  Start([&](KeyServiceServer& s) {
    s.rpc().AddService(&extra, {MethodRule{"/smimegate.test.Extra/Open", {"reader"}}});
  });
  auto admin = Channel(endpoint_, testing::AdminCredentials(config_));
  auto reader = Channel(endpoint_, Role("reader"));
  auto worker = Channel(endpoint_, Role("worker"));
  EXPECT_TRUE(CallExtra(admin, false).ok());
  EXPECT_TRUE(CallExtra(admin, true).ok());
  EXPECT_EQ(CallExtra(reader, false).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_TRUE(CallExtra(reader, true).ok());
  EXPECT_EQ(CallExtra(worker, false).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(CallExtra(worker, true).error_code(), grpc::PERMISSION_DENIED);
  // The admin's calls of the further service are audited too, secrets redacted.
  auto audit = server_->impl().ListAudit(0, 100);
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].method, "Extra/Echo");
  EXPECT_NE((*audit)[0].arguments.find("text: \"hello\""), std::string::npos) << (*audit)[0].arguments;
  EXPECT_NE((*audit)[0].arguments.find("token: <redacted>"), std::string::npos);
  EXPECT_EQ((*audit)[0].arguments.find("s3cret"), std::string::npos);
  EXPECT_NE((*audit)[0].arguments.find("blob: <10 bytes sha256:"), std::string::npos);
}

// Each Dkim RPC (proto/dkim.proto) as one role calls it through
// KeyServiceClient: "ok", or the name of the error code it got.
using DkimVerdicts = std::map<std::string, std::string>;
constexpr const char* kOk = "ok";
constexpr const char* kDenied = "permission_denied";  // ErrorCodeName(kPermissionDenied)

DkimVerdicts CallEveryDkimRpc(KeyServiceClient& c) {
  DkimVerdicts out;
  auto code = [](const auto& r) {
    return r.ok() ? std::string(kOk) : std::string(ErrorCodeName(r.error().code));
  };
  auto key = c.GetDkimKey("example.com");
  if (key.ok()) {
    EXPECT_TRUE(key->has_value() && !(*key)->private_key_der.empty()) << "the worker gets the key";
  }
  out["GetDkimKey"] = code(key);
  out["DkimList"] = code(c.DkimList("example.com"));
  // Each change shows in the key list: a new key s3, made active, s2 gone.
  out["DkimKeygen"] = code(c.DkimKeygen("example.com", "s3", "ed25519"));
  out["DkimActivate"] = code(c.DkimActivate("example.com", "s3"));
  out["DkimRemove"] = code(c.DkimRemove("example.com", "s2"));
  return out;
}

// DKIM keys (docs/dkim.md): the private key for workers only (not even the
// admin), the list (public keys) also for readers, keygen / activate /
// remove admin only; a refused call changes nothing.
TEST_F(KeyServiceAccessTest, DkimKeysForWorkersListForReadersChangesForAdmins) {
  Start();
  auto& ks = server_->impl();
  ASSERT_TRUE(ks.DkimKeygen("example.com", "s1", "ed25519").ok());
  ASSERT_TRUE(ks.DkimActivate("example.com", "s1").ok());
  ASSERT_TRUE(ks.DkimKeygen("example.com", "s2", "ed25519").ok());
  auto keys = [&] {
    std::string out;
    auto list = ks.DkimList("example.com");
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return out;
    for (const auto& k : *list) out += k.selector + " " + k.state + "\n";
    return out;
  };
  const std::string before = keys();
  ASSERT_EQ(before, "s1 active\ns2 published\n");
  const DkimVerdicts nothing = {{"GetDkimKey", kDenied},
                                {"DkimList", kDenied},
                                {"DkimKeygen", kDenied},
                                {"DkimActivate", kDenied},
                                {"DkimRemove", kDenied}};
  DkimVerdicts worker = nothing, reader = nothing;
  worker["GetDkimKey"] = kOk;
  reader["DkimList"] = kOk;
  const std::map<std::string, DkimVerdicts> want = {
      {"worker", worker}, {"reader", reader}, {"ingress", nothing}, {"egress", nothing}};
  for (const auto& [role, verdicts] : want) {
    auto client = KeyServiceClient::Create(endpoint_, Role(role), 5s);
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    EXPECT_EQ(CallEveryDkimRpc(**client), verdicts) << role;
    EXPECT_EQ(keys(), before) << "a " << role << " changed the keys";
  }
  // The admin manages the keys but never receives a private key.
  auto admin = KeyServiceClient::Create(endpoint_, testing::AdminCredentials(config_), 5s);
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(CallEveryDkimRpc(**admin), (DkimVerdicts{{"GetDkimKey", kDenied},
                                                     {"DkimList", kOk},
                                                     {"DkimKeygen", kOk},
                                                     {"DkimActivate", kOk},
                                                     {"DkimRemove", kOk}}));
  EXPECT_EQ(keys(), "s1 retired\ns3 active\n");
  // The refusals are counted by role (5 for ingress).
  const std::string metrics = registry_.Serialize();
  EXPECT_NE(
      metrics.find("smimegate_rpc_denied_total{code=\"PERMISSION_DENIED\",role=\"ingress\"} 5"),
      std::string::npos)
      << metrics;
}

TEST_F(KeyServiceAccessTest, UnixSocketIsOwnerOnlyAndNotShared) {
  std::string path = (dir_.path() / "run" / "ks.sock").string();
  config_.listen = "unix:" + path;
  Start();
  EXPECT_EQ(endpoint_, "unix:" + path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_.path() / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Mutual TLS over the socket too.
  auto admin = Channel(endpoint_, testing::AdminCredentials(config_));
  EXPECT_TRUE(Participates(admin).ok());
  ClientCredentials no_cert;
  no_cert.ca_pem = server_->impl().internal_ca().CaPem();
  EXPECT_EQ(Participates(Channel(endpoint_, no_cert)).error_code(), grpc::UNAUTHENTICATED);

  // A second keyservice on the same socket: refused, naming it.
  testing::TempDir other_dir;
  auto other_config = testing::TestConfig(other_dir.path());
  other_config.listen = config_.listen;
  metrics::Registry other_registry;
  auto other = KeyServiceServer::Create(other_config, {}, other_registry, clock_);
  ASSERT_TRUE(other.ok());
  auto st2 = (*other)->Start();
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.error().message.find("unix:" + path), std::string::npos) << st2.error().message;
  EXPECT_NE(st2.error().message.find("in use"), std::string::npos);
  EXPECT_TRUE(Participates(admin).ok()) << "the first one still serves";

  // A stale socket file (its process died) is replaced.
  server_->Stop();
  server_.reset();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);  // leaves the file behind, nobody listening
  auto st3 = (*other)->Start();
  EXPECT_TRUE(st3.ok()) << st3.error().ToString();
  (*other)->Stop();
}

TEST_F(KeyServiceAccessTest, SecondServerOnTheSamePortExitsWithAnErrorNamingIt) {
  Start();
  testing::TempDir other_dir;
  auto other_config = testing::TestConfig(other_dir.path());
  other_config.listen = endpoint_;  // the port the first one got
  metrics::Registry other_registry;
  auto other = KeyServiceServer::Create(other_config, {}, other_registry, clock_);
  ASSERT_TRUE(other.ok());
  auto st = (*other)->Start();
  ASSERT_FALSE(st.ok()) << "gRPC's SO_REUSEPORT would have let both listen";
  EXPECT_NE(st.error().message.find(endpoint_), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("in use"), std::string::npos);
}

TEST_F(KeyServiceAccessTest, CertificateRotationWhileWorkersCallFailsNothing) {
  Start();
  Populate();
  auto worker = Channel(endpoint_, Role("worker"));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread calls([&] {
    while (!stop) {
      (SigningIdentity(worker).ok() ? ok : failed)++;
    }
  });
  ClientCredentials fresh = Role("worker");
  std::string previous;
  ASSERT_TRUE(Participates(Channel(endpoint_, fresh), &previous).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(server_->Reload().ok());  // what SIGHUP does
    std::string now;
    ASSERT_TRUE(Participates(Channel(endpoint_, fresh), &now).ok());
    EXPECT_NE(now, previous) << "a new connection gets the new certificate";
    previous = now;
  }
  while (ok < 50) std::this_thread::yield();
  stop = true;
  calls.join();
  EXPECT_EQ(failed, 0) << "of " << ok + failed << " calls";
}

// Operator-supplied certificates (e.g. a Kubernetes Secret): a change of
// the files is picked up by new connections without SIGHUP or restart.
TEST_F(KeyServiceAccessTest, OperatorCertificateFilesAreReloadedOnChange) {
  // The operator's CA: another keyservice's internal CA stands in for it.
  testing::TempDir ca_dir;
  metrics::Registry ca_registry;
  auto ca = KeyServiceImpl::Open(testing::TestConfig(ca_dir.path()), {}, ca_registry, clock_);
  ASSERT_TRUE(ca.ok());
  auto write_identity = [&] {
    auto id = (*ca)->internal_ca().IssueServer("keyservice.example.internal", 24h);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(WriteCredentialsDir((dir_.path() / "tls").string(), id->cert_chain_pem,
                                    id->private_key_pem, (*ca)->internal_ca().CaPem())
                    .ok());
  };
  write_identity();
  config_.tls.cert_file = (dir_.path() / "tls" / "cert.pem").string();
  config_.tls.key_file = (dir_.path() / "tls" / "key.pem").string();
  config_.tls.client_ca_file = (dir_.path() / "tls" / "ca.pem").string();
  config_.tls.server_name = "keyservice.example.internal";
  config_.admin_credentials.clear();
  Start();
  ClientCredentials worker = testing::RoleCredentials(**ca, "worker");
  worker.server_name = config_.tls.server_name;
  std::string first, second;
  ASSERT_TRUE(Participates(Channel(endpoint_, worker), &first).ok());
  write_identity();
  auto until = std::chrono::steady_clock::now() + 10s;  // the files are checked once a second
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Participates(Channel(endpoint_, worker), &second).ok());
    if (second != first) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(second, first) << "the new certificate files were never used";
  // With the operator's CA, credentials come from the operator, not from us.
  auto issued = server_->admin().IssueCredentials(CredentialsRequest{"worker", "w", "x", 0});
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace sg::keyservice
