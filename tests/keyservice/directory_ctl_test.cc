// Directory sync through the real smimegatectl against KeyServiceServer on
// a free loopback port: user import --sync, directory sync [--source]
// [--dry-run], directory status, and their audit records.
#include <gtest/gtest.h>
#include <filesystem>

#include "keyservice/keyservice_server.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using CtlResult = testing::CommandOutput;

class DirectoryCtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_.path());
    hr_file_ = (dir_.path() / "hr.csv").string();
    testing::WriteFile(hr_file_, "address,participating\nhr1@example.org\nhr2@example.org,no\n");
    DirectorySourceConfig hr;
    hr.name = "hr";
    hr.type = "csv";
    hr.domains = {"example.org"};
    hr.file = hr_file_;
    hr.grace_period = std::chrono::hours(24);
    hr.max_disable_percent = 60;
    config_.directory.state_dir = (dir_.path() / "directory").string();
    config_.directory.sources.push_back(hr);
    auto server =
        KeyServiceServer::Create(config_, {"example.com", "example.org"}, registry_, clock_);
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  CtlResult Ctl(const std::string& args) {
    return testing::RunCommand(std::string(SMIMEGATECTL_PATH) + " --endpoint " +
                               server_->bound_endpoint() + " --credentials " +
                               config_.admin_credentials + " " + args);
  }
  std::string Csv(const std::string& name, const std::string& text) {
    return testing::WriteFile(dir_.path() / name, text), (dir_.path() / name).string();
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  std::string hr_file_;
  metrics::Registry registry_;
  SystemClock clock_;
  std::unique_ptr<KeyServiceServer> server_;
};

TEST_F(DirectoryCtlTest, UserImportSyncFollowsTheFile) {
  std::string full = Csv("all.csv", "alice@example.com\nbob@example.com\ncarol@example.com,no\n");
  CtlResult r = Ctl("user import " + full + " --sync");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("add alice@example.com participating: new in the directory"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("csv-import: 3 add"), std::string::npos) << r.out;

  // bob left: a dry run shows it and changes nothing.
  std::string less = Csv("less.csv", "alice@example.com\ncarol@example.com,no\n");
  r = Ctl("user import " + less + " --sync --dry-run --max-disable-percent 50");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("disable bob@example.com: not in the directory"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("dry run, 1 changes planned"), std::string::npos) << r.out;
  r = Ctl("user list --domain example.com");
  EXPECT_NE(r.out.find("bob@example.com\tparticipating"), std::string::npos) << r.out;

  // Disabling 1 of 3 is above the default 10%: the guard stops the run.
  r = Ctl("user import " + less + " --sync");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("mass-removal guard: the run would disable 1 users"), std::string::npos)
      << r.out;
  r = Ctl("directory status --source csv-import");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("STOPPED BY THE MASS-REMOVAL GUARD"), std::string::npos) << r.out;
  r = Ctl("user list --domain example.com");
  EXPECT_NE(r.out.find("bob@example.com\tparticipating"), std::string::npos) << r.out;
  // Intended: allowed for one run.
  r = Ctl("user import " + less + " --sync --max-disable-percent 40");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("csv-import: 1 disable"), std::string::npos) << r.out;
  r = Ctl("user list --domain example.com");
  EXPECT_NE(r.out.find("bob@example.com\tnot-participating"), std::string::npos) << r.out;

  // Without --sync an import still only adds and updates.
  r = Ctl("user import " + less);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2 users"), std::string::npos) << r.out;
  r = Ctl("user import " + less + " --dry-run");
  EXPECT_EQ(r.rc, 2) << r.out;
}

TEST_F(DirectoryCtlTest, ConfiguredSourceSyncAndStatus) {
  CtlResult r = Ctl("directory status");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("hr (csv)\n  domains: example.org\n  interval: manual\n  last run: never"),
            std::string::npos) << r.out;

  r = Ctl("directory sync --source hr --dry-run");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("add hr2@example.org not-participating: new in the directory"),
            std::string::npos) << r.out;
  r = Ctl("user list --domain example.org");
  EXPECT_EQ(r.out, "") << r.out;

  r = Ctl("directory sync");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("hr: 2 add"), std::string::npos) << r.out;
  r = Ctl("user list --domain example.org");
  EXPECT_EQ(r.out, "hr1@example.org\tparticipating\nhr2@example.org\tnot-participating\n");

  testing::WriteFile(hr_file_, "hr1@example.org\n");
  r = Ctl("directory sync --source hr");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("disable hr2@example.org: not in the directory"), std::string::npos)
      << r.out;
  r = Ctl("directory status --source hr");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find(" ok (1 disable)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example.org: 1 users in the directory, 1 participating"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("disabled, waiting for removal: 1"), std::string::npos) << r.out;

  // The file is gone: the run fails, status says why, nothing changes.
  std::filesystem::remove(hr_file_);
  r = Ctl("directory sync --source hr");
  EXPECT_EQ(r.rc, 3) << r.out;
  r = Ctl("directory status --source hr");
  EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error: " + hr_file_ + ": cannot open"), std::string::npos) << r.out;

  // An import --sync cannot take over a domain a configured source feeds.
  std::string other = Csv("other.csv", "x@example.org\n");
  r = Ctl("user import " + other + " --sync");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("example.org is fed by the configured directory source hr"),
            std::string::npos) << r.out;
  r = Ctl("directory sync --source nope");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("no directory source named \"nope\""), std::string::npos) << r.out;
}

TEST_F(DirectoryCtlTest, ChangesAndCallsAreAudited) {
  CtlResult r = Ctl("directory sync --source hr");
  ASSERT_EQ(r.rc, 0) << r.out;
  r = Ctl("audit list");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Directory/DirectorySync"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DirectorySync/add"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hr2@example.org"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sg::keyservice
