// The admin REST API's link to the portal (cmd/smimegate/portal_admin_link.h)
// and the portal's TCP admin port (portal.admin, stage_admin_server.h), with
// real credentials from the keyservice's internal CA and a fake PortalAdmin
// service behind the port:
//   - the distributed mode: admin credentials reach a port served with the
//     role portal's certificate; a worker certificate, a wrong server name
//     and a stopped port are kUnavailable (the REST API's 503);
//   - `smimegate run`: the portal's admin socket, without credentials;
//   - neither: no portal (nullptr);
//   - `smimegatectl portal --portal HOST:PORT`: the same port with admin
//     credentials; other roles' credentials are refused (exit 1), a
//     stopped port exits 3.
#include "cmd/smimegate/portal_admin_link.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>

#include "cmd/smimegate/stage_admin_server.h"
#include "keyservice/credentials_files.h"
#include "keyservice/key_service_impl.h"
#include "portal/portal_admin.h"
#include "tests/keyservice/test_pki.h"

namespace sg::app {
namespace {

namespace ks = sg::keyservice;
namespace pb = smimegate::portal::v1;

// Answers List with one message, whoever asks; records the purges.
class FakePortal final : public pb::PortalAdmin::Service {
 public:
  grpc::Status List(grpc::ServerContext*, const pb::ListRequest*, pb::ListResponse* resp) override {
    auto* m = resp->add_messages();
    m->set_recipient("partner@x.example");
    m->set_id("0001");
    m->set_sender_domain("a.example");
    return grpc::Status::OK;
  }
  grpc::Status Purge(grpc::ServerContext*, const pb::PurgeRequest* req,
                     pb::PurgeResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    purged_ = req->recipient();
    resp->set_messages(1);
    return grpc::Status::OK;
  }
  std::string purged() {
    std::lock_guard<std::mutex> lock(mu_);
    return purged_;
  }

 private:
  std::mutex mu_;
  std::string purged_;  // the last Purge's recipient
};

class PortalAdminLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened =
        ks::KeyServiceImpl::Open(ks::testing::TestConfig(dir_.path()), {}, registry_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    ks_ = std::move(*opened);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    ks_->Shutdown();
  }
  // Credentials of `role` written as a directory (what `credentials issue` writes).
  std::string CredentialsDir(const std::string& role) {
    auto c = ks::testing::RoleCredentials(*ks_, role, role + " test");
    std::string dir = (dir_.path() / ("creds-" + role)).string();
    EXPECT_TRUE(ks::WriteCredentialsDir(dir, c.cert_pem, c.key_pem, c.ca_pem).ok());
    return dir;
  }
  // The portal's TCP admin port with the role portal's certificate.
  std::string StartPortalPort() {
    const std::string dir = CredentialsDir("portal");
    AdminListenerConfig config{"127.0.0.1:0", dir + "/cert.pem", dir + "/key.pem", dir + "/ca.pem"};
    auto server = StageAdminServer::Create(
        config, "portal.admin", "portal", [this] { return std::vector<grpc::Service*>{&fake_}; },
        registry_);
    EXPECT_TRUE(server.ok()) << server.error().ToString();
    if (!server.ok()) return "";
    server_ = std::move(*server);
    auto st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.error().ToString();
    return server_->bound_endpoint();
  }
  Result<pb::ListResponse> ListThrough(const admin::AdminApiConfig::Portal& link) {
    auto portal = ConnectPortalAdmin(link, "");
    if (!portal.ok()) return portal.error();
    if (*portal == nullptr) return MakeError(ErrorCode::kNotFound, "no portal");
    return (*portal)->List(pb::ListRequest());
  }

  ks::testing::TempDir dir_;
  metrics::Registry registry_;
  SystemClock clock_;
  std::unique_ptr<ks::KeyServiceImpl> ks_;
  FakePortal fake_;
  std::unique_ptr<StageAdminServer> server_;
};

TEST_F(PortalAdminLinkTest, AdminCredentialsReachThePortalsPort) {
  admin::AdminApiConfig::Portal link;
  link.endpoint = StartPortalPort();
  link.credentials = CredentialsDir("admin");
  auto list = ListThrough(link);
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->messages_size(), 1);
  EXPECT_EQ(list->messages(0).sender_domain(), "a.example");
}

TEST_F(PortalAdminLinkTest, OtherRolesWrongNamesAndStoppedPortsAreUnavailable) {
  admin::AdminApiConfig::Portal link;
  link.endpoint = StartPortalPort();
  link.credentials = CredentialsDir("worker");
  auto worker = ListThrough(link);
  ASSERT_FALSE(worker.ok());
  EXPECT_EQ(worker.error().code, ErrorCode::kUnavailable) << worker.error().ToString();

  link.credentials = CredentialsDir("admin");
  link.server_name = "smimegate-egress";
  auto wrong_name = ListThrough(link);
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_EQ(wrong_name.error().code, ErrorCode::kUnavailable) << wrong_name.error().ToString();

  link.server_name = "smimegate-portal";
  server_->Stop();
  auto stopped = ListThrough(link);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(stopped.error().message.find(link.endpoint), std::string::npos)
      << stopped.error().message;
}

TEST_F(PortalAdminLinkTest, MissingCredentialsNameTheFix) {
  admin::AdminApiConfig::Portal link;
  link.endpoint = "127.0.0.1:1";
  link.credentials = (dir_.path() / "nothing").string();
  auto portal = ConnectPortalAdmin(link, "");
  ASSERT_FALSE(portal.ok());
  EXPECT_NE(portal.error().message.find("credentials issue --role admin"), std::string::npos)
      << portal.error().message;
}

TEST_F(PortalAdminLinkTest, InProcessPortalThroughItsSocketAndNoneWithoutEither) {
  const std::string socket = (dir_.path() / "run" / "portal.sock").string();
  portal::PortalAdminServer local(&fake_);
  ASSERT_TRUE(local.Start(socket).ok());
  // The link is ignored when the portal is in this process.
  admin::AdminApiConfig::Portal link;
  link.endpoint = "127.0.0.1:1";
  auto portal = ConnectPortalAdmin(link, socket);
  ASSERT_TRUE(portal.ok() && *portal != nullptr);
  auto list = (*portal)->List(pb::ListRequest());
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  EXPECT_EQ(list->messages_size(), 1);
  local.Stop();

  auto none = ConnectPortalAdmin(admin::AdminApiConfig::Portal{}, "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

// smimegatectl's client for a separately started portal (cmd/smimegatectl/
// ctl_portal.cc): `portal --portal HOST:PORT` with the admin credentials
// reaches the portal's TCP admin port (server name smimegate-portal).
TEST_F(PortalAdminLinkTest, SmimegatectlReachesARemotePortalWithAdminCredentials) {
  const std::string endpoint = StartPortalPort();
  const std::string admin = CredentialsDir("admin");
  auto ctl = [&](const std::string& creds, const std::string& args) {
    // --home: no config of the developer's; the credentials are given.
    return ks::testing::RunCommand(
        std::string(SMIMEGATECTL_PATH) + " --home " + (dir_.path() / "nohome").string() +
        " --timeout 5 --credentials " + creds + " portal --portal " + endpoint + " " + args);
  };
  auto listed = ctl(admin, "list --json");
  ASSERT_EQ(listed.rc, 0) << listed.out;
  EXPECT_NE(listed.out.find("\"recipient\": \"partner@x.example\""), std::string::npos)
      << listed.out;
  auto purged = ctl(admin, "purge --recipient partner@x.example");
  ASSERT_EQ(purged.rc, 0) << purged.out;
  EXPECT_EQ(fake_.purged(), "partner@x.example");

  auto worker = ctl(CredentialsDir("worker"), "list");
  EXPECT_EQ(worker.rc, 1) << "the port admits the admin role only: " << worker.out;
  EXPECT_NE(worker.out.find("portal at " + endpoint + ": only the admin role"), std::string::npos)
      << worker.out;
  server_->Stop();
  auto stopped = ctl(admin, "list");
  EXPECT_EQ(stopped.rc, 3) << stopped.out;
}

}  // namespace
}  // namespace sg::app
