// The smimegate binary as an operator meets it: configuration errors exit 2
// with a message naming the key and line; a taken port exits 1 naming it;
// SIGTERM shuts down cleanly with exit 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/loopback.h"
#include "tests/support/temp_dir.h"

namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

RunResult RunShell(const std::string& command) {
  std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  RunResult r;
  char buf[1024];
  while (std::fgets(buf, sizeof(buf), p)) r.output += buf;
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

RunResult RunSmimegate(const std::string& args) {
  return RunShell(std::string(SMIMEGATE_BIN) + " " + args);
}

// Every stage on loopback port 0, a KEK created in the temp dir.
const char* kRunnable =
    "hosted_domains: [example.com]\n"
    "metrics:\n  port: 0\n"
    "keyservice:\n  listen: 127.0.0.1:0\n  kek_file: kek\n  kek_create: true\n"
    "ingress:\n  listeners:\n"
    "    - {name: mx, address: 127.0.0.1, port: 0, role: mx}\n"
    "    - {name: relay, address: 127.0.0.1, port: 0, role: relay, trusted_networks: [127.0.0.0/8]}\n"
    "egress:\n  outbound: {transport: maildir}\n";

void ReplaceOnce(std::string& s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
}

// A gateway running in the background until Stop().
struct Gateway {
  pid_t pid = -1;
  FILE* out = nullptr;
  std::string seen;  // its output up to "smimegate ready"

  bool Start(const std::string& config) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      execl(SMIMEGATE_BIN, SMIMEGATE_BIN, "run", "-c", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    char line[1024];
    while (std::fgets(line, sizeof(line), out)) {
      seen += line;
      if (seen.find("smimegate ready") != std::string::npos) return true;
    }
    return false;
  }
  int Stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    char line[1024];
    while (std::fgets(line, sizeof(line), out)) seen += line;
    fclose(out);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~Gateway() { Stop(); }
};

class SmimegateCliTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& yaml) { return WriteIn(dir_, yaml); }
  std::string WriteIn(sg::testing::TempDir& dir, const std::string& yaml) {
    std::string path = dir.Sub("smimegate.yaml");
    std::ofstream(path) << yaml;
    return path;
  }
  sg::testing::TempDir dir_;
};

// Issue 14: gRPC (keyservice) and HTTP (metrics) used to set SO_REUSEPORT,
// so a second gateway on the same port started and the kernel split the
// connections between the two.
TEST_F(SmimegateCliTest, SecondGatewayOnTheSameKeyservicePortExits1NamingIt) {
  std::string port = std::to_string(sg::testing::FreeLoopbackPort());
  std::string yaml = kRunnable;
  ReplaceOnce(yaml, "listen: 127.0.0.1:0", "listen: 127.0.0.1:" + port);
  Gateway first;
  ASSERT_TRUE(first.Start(Write(yaml))) << first.seen;
  sg::testing::TempDir other;
  auto r = RunSmimegate("run -c " + WriteIn(other, yaml));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("keyservice.listen"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:" + port), std::string::npos) << r.output;
  EXPECT_EQ(first.Stop(), 0) << first.seen;
}

TEST_F(SmimegateCliTest, SecondGatewayOnTheSameMetricsPortExits1NamingIt) {
  std::string port = std::to_string(sg::testing::FreeLoopbackPort());
  std::string yaml = kRunnable;
  ReplaceOnce(yaml, "metrics:\n  port: 0", "metrics:\n  port: " + port);
  Gateway first;
  ASSERT_TRUE(first.Start(Write(yaml))) << first.seen;
  sg::testing::TempDir other;
  auto r = RunSmimegate("run -c " + WriteIn(other, yaml));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:" + port), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("already in use"), std::string::npos) << r.output;
  EXPECT_EQ(first.Stop(), 0) << first.seen;
}

// smimegate run: the keyservice on a Unix socket only its owner can open,
// the local admin's credentials private, by default.
TEST_F(SmimegateCliTest, RunUsesAnOwnerOnlyUnixSocketAndWritesPrivateAdminCredentials) {
  std::string yaml = kRunnable;
  ReplaceOnce(yaml, "  listen: 127.0.0.1:0\n", "");
  Gateway gw;
  ASSERT_TRUE(gw.Start(Write(yaml))) << gw.seen;
  std::string socket = dir_.Sub("run/keyservice.sock");
  EXPECT_NE(gw.seen.find("keyservice unix:" + socket), std::string::npos) << gw.seen;
  struct stat st {};
  ASSERT_EQ(stat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir_.Sub("credentials/admin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* f : {"cert.pem", "key.pem", "ca.pem"}) {
    ASSERT_EQ(stat(dir_.Sub(std::string("credentials/admin/") + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  EXPECT_EQ(gw.Stop(), 0) << gw.seen;
}

TEST_F(SmimegateCliTest, ValidConfigChecksOut) {
  auto r = RunSmimegate("check-config -c " + Write(kRunnable));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("configuration is valid"), std::string::npos);
}

// Issue 24: check-config used to pass a configuration whose keyservice could
// not start for want of its key-encryption key.
TEST_F(SmimegateCliTest, CheckConfigChecksTheKekOfTheKeyserviceStage) {
  std::string path = Write("hosted_domains: [example.com]\nmetrics:\n  port: 0\n");
  auto r = RunShell("env -u SMIMEGATE_KEK " + std::string(SMIMEGATE_BIN) + " check-config -c " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no key-encryption key"), std::string::npos) << r.output;
  r = RunShell("env -u SMIMEGATE_KEK " + std::string(SMIMEGATE_BIN) +
               " check-config --stage worker -c " + path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(SmimegateCliTest, BothBinariesPrintTheirVersion) {
  for (const char* bin : {SMIMEGATE_BIN, SMIMEGATECTL_BIN}) {
    auto r = RunShell(std::string(bin) + " --version");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const std::string name = std::string(bin).substr(std::string(bin).rfind('/') + 1);
    EXPECT_EQ(r.output.rfind(name + " 0.", 0), 0u) << r.output;
    // Built from a git checkout: the version names a commit of it (the one
    // built, which is HEAD unless something was committed since the build).
    if (RunShell("git -C " SMIMEGATE_SOURCE_DIR " rev-parse HEAD").exit_code == 0) {
      const size_t at = r.output.find("(git ");
      ASSERT_NE(at, std::string::npos) << r.output;
      const std::string described = r.output.substr(at + 5, r.output.find(')', at) - at - 5);
      std::string commit = described.substr(0, described.find("-dirty"));
      if (size_t g = commit.rfind("-g"); g != std::string::npos) commit = commit.substr(g + 2);
      EXPECT_EQ(RunShell("git -C " SMIMEGATE_SOURCE_DIR " cat-file -e " + commit + "^{commit}")
                    .exit_code,
                0)
          << r.output;
    }
  }
}

TEST_F(SmimegateCliTest, ConfigShowPrintsEffectiveDefaultAndChangedValues) {
  std::string path = Write(kRunnable);
  auto effective = RunSmimegate("config show -c " + path);
  ASSERT_EQ(effective.exit_code, 0) << effective.output;
  EXPECT_NE(effective.output.find("keyservice.kek_file = kek\n"), std::string::npos);
  EXPECT_NE(effective.output.find("log.level = info\n"), std::string::npos);
  EXPECT_NE(effective.output.find("ingress.listeners[1].role = relay\n"), std::string::npos);
  auto defaults = RunSmimegate("config show --defaults -c " + path);
  ASSERT_EQ(defaults.exit_code, 0) << defaults.output;
  EXPECT_NE(defaults.output.find("metrics.port = 9464\n"), std::string::npos) << defaults.output;
  auto changed = RunSmimegate("config show -n -c " + path);
  ASSERT_EQ(changed.exit_code, 0) << changed.output;
  EXPECT_NE(changed.output.find("metrics.port = 0\n"), std::string::npos);
  EXPECT_EQ(changed.output.find("log.level"), std::string::npos) << changed.output;
  auto invalid = RunSmimegate("config show -c " + Write("metrics:\n  prot: 1\n"));
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_NE(invalid.output.find("config metrics.prot (line 2): unknown key"), std::string::npos);
}

struct BadConfig {
  const char* name;
  const char* yaml;
  const char* message;
};

TEST_F(SmimegateCliTest, EachKindOfInvalidConfigHasItsMessageAndExitCode2) {
  const BadConfig cases[] = {
      {"syntax", "metrics:\n  port: [1,\n", "not valid YAML"},
      {"unknown key", "metrics:\n  prot: 1\n", "config metrics.prot (line 2): unknown key"},
      {"unknown section", "metrix:\n  port: 1\n", "config metrix (line 1): unknown key"},
      {"wrong type", "metrics:\n  port: abc\n",
       "config metrics.port (line 2): expected an integer from 0 to 65535, got \"abc\""},
      {"out of range", "queue:\n  partitions: 0\n",
       "config queue.partitions (line 2): expected an integer from 1 to 1024"},
      {"bad enum", "log:\n  format: xml\n",
       "config log.format (line 2): expected one of text, json, got \"xml\""},
      {"bad domain", "hosted_domains: [\"not a domain\"]\n",
       "config hosted_domains (line 1): \"not a domain\" is not a domain name"},
      {"map expected", "queue: 5\n", "config queue (line 1): expected a map of keys"},
      {"unset variable", "metrics:\n  port: ${SMIMEGATE_TEST_SURELY_UNSET}\n",
       "SMIMEGATE_TEST_SURELY_UNSET is not set"},
      {"web encryption without the portal", "workers:\n  policy:\n    web_encryption: true\n",
       "config workers.policy.web_encryption (line 3): web encryption needs the portal"},
      {"portal domain not hosted",
       "hosted_domains: [example.com]\nportal:\n  domains:\n    - domain: other.example\n",
       "is not one of hosted_domains"},
      {"portal trusted proxy not a network", "portal:\n  trusted_proxies: [10.0.0.0/33]\n",
       "config portal.trusted_proxies (line 2): \"10.0.0.0/33\": prefix length must be 0..32"},
      {"shutdown deadline out of range", "shutdown:\n  deadline: 2h\n",
       "config shutdown.deadline (line 2): must be between 100ms and 1h"},
  };
  for (const auto& c : cases) {
    auto r = RunSmimegate("run -c " + Write(c.yaml));
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.name << ": " << r.output;
  }
}

TEST_F(SmimegateCliTest, MissingKeyEncryptionKeyIsAConfigurationError) {
  std::string yaml = kRunnable;
  ReplaceOnce(yaml, "  kek_create: true\n", "");
  auto r = RunSmimegate("run -c " + Write(yaml));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("keyservice.kek_file"), std::string::npos) << r.output;
}

TEST_F(SmimegateCliTest, MissingConfigFileExits2AndNamesIt) {
  auto r = RunSmimegate("run -c " + dir_.Sub("nope.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(dir_.Sub("nope.yaml")), std::string::npos) << r.output;
}

TEST_F(SmimegateCliTest, EnvironmentOverrideIsValidatedLikeTheFile) {
  auto r = RunSmimegate("check-config -c " + Write("metrics:\n  port: 0\n") +
               " ; SMIMEGATE__METRICS__PORT=x " + SMIMEGATE_BIN + " check-config -c " +
               dir_.Sub("smimegate.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("config metrics.port"), std::string::npos) << r.output;
}

TEST_F(SmimegateCliTest, TakenPortIsAClearErrorWithExitCode1) {
  sg::testing::LoopbackListenSocket taken(1);
  ASSERT_TRUE(taken.ok());
  const int port = taken.port();
  std::string yaml = kRunnable;
  ReplaceOnce(yaml, "metrics:\n  port: 0", "metrics:\n  port: " + std::to_string(port));
  auto r = RunSmimegate("run -c " + Write(yaml));
  taken.Close();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("already in use"), std::string::npos) << r.output;
}

TEST_F(SmimegateCliTest, SigtermStopsGracefullyWithExitCode0) {
  std::string config = Write(kRunnable);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    execl(SMIMEGATE_BIN, SMIMEGATE_BIN, "run", "-c", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  std::string seen;
  char line[1024];
  while (std::fgets(line, sizeof(line), f)) {
    seen += line;
    if (seen.find("smimegate ready") != std::string::npos) break;
  }
  ASSERT_NE(seen.find("smimegate ready"), std::string::npos) << seen;
  // The live endpoint: /healthz, /readyz, and /metrics as Prometheus's linter sees it.
  size_t at = seen.find("http://");
  ASSERT_NE(at, std::string::npos) << seen;
  std::string base = seen.substr(at, seen.find("/metrics", at) - at);
  EXPECT_EQ(RunShell("curl -sf " + base + "/healthz").output, "ok\n");
  std::string ready;
  for (int i = 0; i < 50 && ready != "ready\n"; ++i) {
    ready = RunShell("curl -s " + base + "/readyz").output;
    if (ready != "ready\n") usleep(100 * 1000);
  }
  EXPECT_EQ(ready, "ready\n");
  auto lint = RunShell("curl -sf " + base + "/metrics | promtool check metrics");
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "") << lint.output;
  // The built-in CA's CRL (DER), signed and readable by openssl.
  auto crl = RunShell("curl -sf " + base + "/ca.crl | openssl crl -inform DER -noout -text");
  EXPECT_EQ(crl.exit_code, 0) << crl.output;
  EXPECT_NE(crl.output.find("Certificate Revocation List (CRL):"), std::string::npos) << crl.output;
  EXPECT_NE(crl.output.find("S/MIME Issuing CA"), std::string::npos) << crl.output;
  std::string scraped;
  for (int i = 0; i < 50; ++i) {  // the lag gauge appears once the first report ran
    scraped = RunShell("curl -sf " + base + "/metrics").output;
    if (scraped.find("smimegate_queue_consumer_lag_records{group=\"smimegate-workers\","
                     "topic=\"inbound\",partition=\"0\"} 0") != std::string::npos) {
      break;
    }
    usleep(100 * 1000);
  }
  EXPECT_NE(scraped.find("smimegate_queue_consumer_lag_records{group=\"smimegate-workers\","
                         "topic=\"inbound\",partition=\"0\"} 0"),
            std::string::npos)
      << scraped;
  for (const char* family : {"smimegate_worker_records_total", "smimegate_ingress_",
                             "smimegate_egress_deliveries_total", "smimegate_keyservice_"}) {
    EXPECT_NE(scraped.find(family), std::string::npos) << family;
  }
  kill(pid, SIGTERM);
  while (std::fgets(line, sizeof(line), f)) seen += line;
  fclose(f);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << seen;
  EXPECT_EQ(WEXITSTATUS(status), 0) << seen;
  EXPECT_NE(seen.find("smimegate: stopped (clean"), std::string::npos) << seen;
  EXPECT_NE(scraped.find("smimegate_shutdown_deadline_seconds 20"), std::string::npos);
}

}  // namespace
