// `smimegate config show` and the deployment checks of `check-config`
// (cmd/smimegate/config_show.h, config_check.h) on configurations written
// into a temp dir: what is recorded and shown, and each check failing for
// its cause with the key named.
#include "cmd/smimegate/config_check.h"

#include <gtest/gtest.h>
#include <openssl/objects.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>

#include "cmd/smimegate/app_config.h"
#include "cmd/smimegate/config_show.h"
#include "common/config_entries.h"
#include "common/config_node.h"
#include "tests/support/loopback.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace sg::app {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

bool Contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (l.find(part) != std::string::npos) return true;
  }
  return false;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class ConfigCheckTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    std::string path = dir_.Sub(name);
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }
  AppConfig Load(const std::string& yaml) {
    auto c = LoadAppConfig(Write("smimegate.yaml", yaml));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return c.ok() ? std::move(*c) : AppConfig{};
  }
  // A self-signed certificate valid from now for `days`, and its key.
  // With `san`: a subjectAltName (a stage identity's role URI and DNS name).
  void WriteCertificate(const std::string& stem, int days, const std::string& san = "") {
    auto key = sg::testing::MakeEcKey();
    sg::testing::CertSpec spec;
    spec.subject = {{"CN", "gw.example.org"}};
    spec.not_before = system_clock::now() - hours(1);
    spec.not_after = system_clock::now() + hours(24 * days);
    if (!san.empty()) spec.extensions = {{NID_subject_alt_name, san}};
    auto cert = sg::testing::IssueCert(spec, key.get());
    Write(stem + ".crt", sg::testing::CertPem(cert.get()));
    Write(stem + ".key", sg::testing::KeyPem(key.get()));
  }
  sg::testing::TempDir dir_;
};

const char* kKek = "keyservice:\n  kek_file: kek\n";
constexpr const char* kKekMaterial = "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMTI=";  // 32 bytes

TEST_F(ConfigCheckTest, ShowRecordsEffectiveValuesDefaultsAndWhatWasSet) {
  auto doc = config::ConfigDocument::LoadString(
      "metrics:\n  port: 0\nlog:\n  format: json\nhosted_domains: [a.example, b.example]\n"
      "shutdown:\n  deadline: 5s\n",
      dir_.Sub("smimegate.yaml"));
  ASSERT_TRUE(doc.ok());
  std::vector<config::ConfigEntry> entries;
  {
    config::ConfigRecorder recorder;
    ASSERT_TRUE(ParseAppConfig(*doc, dir_.Sub("smimegate.yaml")).ok());
    entries = recorder.entries();
  }
  // A recorder made inside another hands the recording back when it ends.
  {
    config::ConfigRecorder outer;
    { config::ConfigRecorder inner; }
    ASSERT_TRUE(ParseAppConfig(*doc, dir_.Sub("smimegate.yaml")).ok());
    EXPECT_EQ(outer.entries().size(), entries.size());
  }
  const std::string effective = FormatConfigEntries(entries, ShowMode::kEffective);
  const std::string defaults = FormatConfigEntries(entries, ShowMode::kDefaults);
  const std::string changed = FormatConfigEntries(entries, ShowMode::kChanged);
  EXPECT_NE(effective.find("metrics.port = 0\n"), std::string::npos) << effective;
  EXPECT_NE(effective.find("log.level = info\n"), std::string::npos) << effective;
  EXPECT_NE(effective.find("hosted_domains = [a.example, b.example]\n"), std::string::npos);
  EXPECT_NE(effective.find("shutdown.deadline = 5s\n"), std::string::npos);
  EXPECT_NE(defaults.find("metrics.port = 9464\n"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("log.format = text\n"), std::string::npos);
  EXPECT_NE(defaults.find("shutdown.deadline = 20s\n"), std::string::npos);
  EXPECT_NE(changed.find("metrics.port = 0\n"), std::string::npos);
  EXPECT_EQ(changed.find("log.level"), std::string::npos) << changed;
  // Every key of every section is listed (a few hundred), each once.
  EXPECT_GT(entries.size(), 150u);
  std::set<std::string> seen;
  for (const auto& e : entries) EXPECT_TRUE(seen.insert(e.path).second) << e.path;
}

TEST_F(ConfigCheckTest, FormatsDurationsAndSizesAsAConfigFileWould) {
  EXPECT_EQ(config::FormatDuration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(config::FormatDuration(std::chrono::minutes(90)), "90m");
  EXPECT_EQ(config::FormatDuration(hours(48)), "2d");
  EXPECT_EQ(config::FormatDuration(std::chrono::milliseconds(0)), "0s");
  EXPECT_EQ(config::FormatSize(50ull << 20), "50MiB");
  EXPECT_EQ(config::FormatSize(1000), "1000");
}

TEST_F(ConfigCheckTest, KekIsCheckedForTheKeyserviceOnly) {
  AppConfig c = Load("metrics:\n  port: 0\n");
  ::unsetenv("SMIMEGATE_KEK");
  auto all = CheckDeployment(c, Stage::kAll, system_clock::now());
  EXPECT_TRUE(Contains(all.errors, "SMIMEGATE_KEK")) << Joined(all.errors);
  EXPECT_TRUE(Contains(CheckDeployment(c, Stage::kKeyService, system_clock::now()).errors,
                       "no key-encryption key"));
  EXPECT_TRUE(CheckDeployment(c, Stage::kWorker, system_clock::now()).errors.empty());
}

TEST_F(ConfigCheckTest, KekFileModeAndFormatAreCheckedAndItsContentNeverShown) {
  Write("kek", "too short");
  AppConfig c = Load(std::string("metrics:\n  port: 0\n") + kKek);
  auto r = CheckDeployment(c, Stage::kKeyService, system_clock::now());
  ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
  EXPECT_EQ(r.errors[0].find("too short"), std::string::npos) << r.errors[0];

  Write("kek", kKekMaterial, 0644);
  r = CheckDeployment(c, Stage::kKeyService, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "group or others")) << Joined(r.errors);

  Write("kek", kKekMaterial, 0600);
  r = CheckDeployment(c, Stage::kKeyService, system_clock::now());
  EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);
}

TEST_F(ConfigCheckTest, MissingKekFileWithKekCreatePasses) {
  AppConfig c = Load("metrics:\n  port: 0\nkeyservice:\n  kek_file: kek\n  kek_create: true\n");
  auto r = CheckDeployment(c, Stage::kAll, system_clock::now());
  EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);
  struct stat st {};
  EXPECT_NE(::stat(dir_.Sub("kek").c_str(), &st), 0) << "check-config must not create the KEK";
}

TEST_F(ConfigCheckTest, TwoListenersOnOnePortAreAnError) {
  Write("kek", kKekMaterial);
  AppConfig c = Load(std::string(kKek) +
                     "metrics:\n  address: 127.0.0.1\n  port: 0\n"
                     "ingress:\n  listeners:\n"
                     "    - {name: mx, address: 127.0.0.1, port: 42525, role: mx}\n"
                     "    - {name: relay, address: 127.0.0.1, port: 42525, role: relay}\n");
  auto r = CheckDeployment(c, Stage::kIngress, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "ingress.listeners[1] 127.0.0.1:42525: another listener"))
      << Joined(r.errors);
}

TEST_F(ConfigCheckTest, PortInUseIsAWarningAndAForeignAddressAnError) {
  sg::testing::LoopbackListenSocket taken(1);
  ASSERT_TRUE(taken.ok());
  const std::string port = std::to_string(taken.port());
  AppConfig c = Load("metrics:\n  address: 127.0.0.1\n  port: " + port +
                     "\ningress:\n  listeners:\n"
                     "    - {name: mx, address: 192.0.2.1, port: 42526, role: mx}\n");
  auto r = CheckDeployment(c, Stage::kIngress, system_clock::now());
  taken.Close();
  EXPECT_TRUE(Contains(r.warnings, "metrics 127.0.0.1:" + port + ": in use")) << Joined(r.warnings);
  EXPECT_TRUE(Contains(r.errors, "ingress.listeners[0] 192.0.2.1:42526: cannot bind"))
      << Joined(r.errors);
}

TEST_F(ConfigCheckTest, CertificatesAreLoadedAndCheckedForExpiry) {
  WriteCertificate("mx", 30);
  WriteCertificate("other", 30);
  const std::string yaml =
      "metrics:\n  port: 0\ningress:\n  listeners:\n"
      "    - {name: mx, address: 127.0.0.1, port: 0, role: mx, tls: {cert: mx.crt, key: KEY}}\n";
  std::string good = yaml;
  good.replace(good.find("KEY"), 3, "mx.key");
  AppConfig c = Load(good);
  EXPECT_TRUE(CheckDeployment(c, Stage::kIngress, system_clock::now()).errors.empty());
  auto soon = CheckDeployment(c, Stage::kIngress, system_clock::now() + hours(24 * 20));
  EXPECT_TRUE(Contains(soon.warnings, "expires within 14 days")) << Joined(soon.warnings);
  auto later = CheckDeployment(c, Stage::kIngress, system_clock::now() + hours(24 * 31));
  EXPECT_TRUE(Contains(later.errors, "ingress.listeners[0].tls: certificate")) << Joined(later.errors);
  EXPECT_TRUE(Contains(later.errors, "has expired"));

  std::string mismatched = yaml;
  mismatched.replace(mismatched.find("KEY"), 3, "other.key");
  AppConfig m = Load(mismatched);
  auto r = CheckDeployment(m, Stage::kIngress, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "ingress.listeners[0].tls")) << Joined(r.errors);
}

// egress.admin of a separately started egress: the listen form, the files,
// the role and the name, each error naming the key and the fix.
TEST_F(ConfigCheckTest, EgressAdminFilesAndRoleAreChecked) {
  auto bad = LoadAppConfig(Write("bad.yaml", "egress:\n  admin:\n    listen: nonsense\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("egress.admin.listen"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("e.g. 0.0.0.0:7444"), std::string::npos);

  const std::string yaml =
      "metrics:\n  port: 0\negress:\n  admin:\n    listen: 127.0.0.1:47444\n"
      "    tls:\n      cert_file: " +
      dir_.Sub("e.crt") + "\n      key_file: " + dir_.Sub("e.key") +
      "\n      client_ca_file: " + dir_.Sub("e.crt") + "\n";
  AppConfig c = Load(yaml);
  auto r = CheckDeployment(c, Stage::kEgress, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "egress.admin.tls.cert_file: cannot read " + dir_.Sub("e.crt")))
      << Joined(r.errors);
  EXPECT_TRUE(Contains(r.errors, "egress.admin.tls.key_file: cannot read"));
  EXPECT_TRUE(Contains(r.errors, "fix: `smimegatectl credentials issue --role egress"));
  // `run` serves the queue admin on the keyservice's port: nothing here.
  EXPECT_FALSE(
      Contains(CheckDeployment(c, Stage::kWorker, system_clock::now()).errors, "egress.admin"));

  auto write_identity = [&](const std::string& san, int days) { WriteCertificate("e", days, san); };
  write_identity("URI:spiffe://smimegate/worker,DNS:smimegate-egress", 30);
  r = CheckDeployment(c, Stage::kEgress, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "egress.admin.tls.cert_file: certificate " + dir_.Sub("e.crt") +
                                     " carries the role worker, not egress"))
      << Joined(r.errors);

  write_identity("URI:spiffe://smimegate/egress", 30);
  r = CheckDeployment(c, Stage::kEgress, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "is not issued for the name smimegate-egress"))
      << Joined(r.errors);

  write_identity("URI:spiffe://smimegate/egress,DNS:smimegate-egress", 30);
  r = CheckDeployment(c, Stage::kEgress, system_clock::now());
  EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);
  auto later = CheckDeployment(c, Stage::kEgress, system_clock::now() + hours(24 * 31));
  EXPECT_TRUE(Contains(later.errors, "egress.admin.tls: certificate")) << Joined(later.errors);
  EXPECT_TRUE(Contains(later.errors, "has expired"));
  EXPECT_TRUE(Contains(later.errors, "--role egress"));

  // Its port is one of the stage's listeners.
  sg::testing::LoopbackListenSocket taken(1);
  ASSERT_TRUE(taken.ok());
  std::string on_taken = yaml;
  on_taken.replace(on_taken.find("127.0.0.1:47444"), 15,
                   "127.0.0.1:" + std::to_string(taken.port()));
  AppConfig t = Load(on_taken);
  r = CheckDeployment(t, Stage::kEgress, system_clock::now());
  EXPECT_TRUE(Contains(r.warnings, "egress.admin.listen 127.0.0.1:" + std::to_string(taken.port())))
      << Joined(r.warnings);
}

// portal.admin of a separately started portal: the same checks as
// egress.admin (one function), with the portal's role and name.
TEST_F(ConfigCheckTest, PortalAdminFilesAndRoleAreChecked) {
  const std::string yaml =
      "metrics:\n  port: 0\nportal:\n  port: 0\n  admin:\n    listen: 127.0.0.1:47445\n"
      "    tls:\n      cert_file: " +
      dir_.Sub("p.crt") + "\n      key_file: " + dir_.Sub("p.key") +
      "\n      client_ca_file: " + dir_.Sub("p.crt") + "\n";
  AppConfig c = Load(yaml);
  auto r = CheckDeployment(c, Stage::kPortal, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "portal.admin.tls.cert_file: cannot read " + dir_.Sub("p.crt")))
      << Joined(r.errors);
  EXPECT_TRUE(Contains(r.errors, "fix: `smimegatectl credentials issue --role portal"));
  // `run` serves the portal's admin on its Unix socket: nothing here.
  EXPECT_FALSE(
      Contains(CheckDeployment(c, Stage::kAll, system_clock::now()).errors, "portal.admin"));

  auto write_identity = [&](const std::string& san) { WriteCertificate("p", 30, san); };
  // An egress identity (the other stage's Secret by mistake).
  write_identity("URI:spiffe://smimegate/egress,DNS:smimegate-egress");
  r = CheckDeployment(c, Stage::kPortal, system_clock::now());
  EXPECT_TRUE(Contains(r.errors, "portal.admin.tls.cert_file: certificate " + dir_.Sub("p.crt") +
                                     " carries the role egress, not portal"))
      << Joined(r.errors);
  write_identity("URI:spiffe://smimegate/portal");
  r = CheckDeployment(c, Stage::kPortal, system_clock::now());
  EXPECT_TRUE(Contains(r.errors,
                       "is not issued for the name smimegate-portal, which the "
                       "keyservice's REST API"))
      << Joined(r.errors);
  write_identity("URI:spiffe://smimegate/portal,DNS:smimegate-portal");
  r = CheckDeployment(c, Stage::kPortal, system_clock::now());
  EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);

  // Its port is one of the stage's listeners.
  sg::testing::LoopbackListenSocket taken(1);
  ASSERT_TRUE(taken.ok());
  std::string on_taken = yaml;
  on_taken.replace(on_taken.find("127.0.0.1:47445"), 15,
                   "127.0.0.1:" + std::to_string(taken.port()));
  r = CheckDeployment(Load(on_taken), Stage::kPortal, system_clock::now());
  EXPECT_TRUE(Contains(r.warnings, "portal.admin.listen 127.0.0.1:" + std::to_string(taken.port())))
      << Joined(r.warnings);
}

// egress.mta_sts.ca_file must load as trust anchors where egress runs.
TEST_F(ConfigCheckTest, MtaStsCaFileIsLoaded) {
  Write("notpem", "not a certificate\n");
  AppConfig c = Load("metrics:\n  port: 0\negress:\n  mta_sts: {enabled: true, ca_file: " +
                     dir_.Sub("notpem") + "}\n");
  EXPECT_TRUE(Contains(CheckDeployment(c, Stage::kEgress, system_clock::now()).errors,
                       "egress.mta_sts.ca_file"));
  EXPECT_FALSE(Contains(CheckDeployment(c, Stage::kWorker, system_clock::now()).errors,
                        "egress.mta_sts.ca_file"));
  WriteCertificate("ca", 30);
  AppConfig good = Load("metrics:\n  port: 0\negress:\n  mta_sts: {enabled: true, ca_file: " +
                        dir_.Sub("ca.crt") + "}\n");
  EXPECT_FALSE(Contains(CheckDeployment(good, Stage::kEgress, system_clock::now()).errors,
                        "egress.mta_sts.ca_file"));
}

// egress.dane.enabled needs a validating resolver whose AD bit egress
// trusts: check-config (which reads the file the same way) refuses it.
TEST_F(ConfigCheckTest, DaneWithoutATrustedResolverIsRefused) {
  auto c = LoadAppConfig(Write("smimegate.yaml",
                               "egress:\n  dns: {servers: [\"127.0.0.1\"]}\n"
                               "  dane: {enabled: true}\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("egress.dane.enabled"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("trust_ad: true"), std::string::npos) << c.error().message;
  auto ok = LoadAppConfig(Write("smimegate.yaml",
                                "egress:\n  dns: {servers: [\"127.0.0.1\"], trust_ad: true}\n"
                                "  dane: {enabled: true}\n"));
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

}  // namespace
}  // namespace sg::app
