// Directory sync at scale (issue 20): a full sync of N users from the fake
// Graph (tests/keyservice/fake_graph_server.py) and from a real slapd into
// a keyservice in a temp dir, then an incremental run after M changes.
// Prints time, peak RSS of this process (the keyservice side; the fake and
// slapd are separate processes) and the users written (applied changes:
// one store write of a user record each; the rest of the directory is not
// touched). Not a Google Benchmark: each step runs once.
//
//   directory_bench [--users N] [--changes M] [--quick]   (--quick: 2000 / 20)
//
// Exit 1 when a run fails or an incremental run writes more users than
// changed (the check the suite's --quick smoke makes).
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "keyservice/directory_graph_source.h"
#include "keyservice/directory_ldap_source.h"
#include "keyservice/directory_service.h"
#include "keyservice/key_service_impl.h"
#include "tests/egress/peer_process.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/slapd_test_server.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool Shell(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;  // NOLINT(cert-env33-c)
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

uint32_t Written(const SyncOutcome& out) {
  uint32_t n = 0;
  for (const auto& [kind, count] : out.applied_counts) n += count;
  return n;
}

struct Step {
  double seconds = 0;
  uint32_t written = 0;
  bool ok = false;
};

Step Sync(DirectoryService& service, const std::string& name) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = service.SyncSource(name, false, 1.0);
  Step s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.ok = r.ok() && r->errors.empty();
  if (!r.ok()) std::cerr << name << ": " << r.error().ToString() << "\n";
  if (r.ok()) s.written = Written(*r);
  return s;
}

struct Keyservice {
  explicit Keyservice(const std::filesystem::path& dir) {
    auto ks = KeyServiceImpl::Open(testing::TestConfig(dir), {"example.com"}, registry, clock);
    if (ks.ok()) impl = std::move(*ks);
  }
  SystemClock clock;  // KeyServiceImpl takes a mutable clock
  metrics::Registry registry;
  std::unique_ptr<KeyServiceImpl> impl;
};

std::unique_ptr<DirectoryService> Service(Keyservice& ks, const std::string& dir,
                                          DirectorySourceConfig s,
                                          std::unique_ptr<DirectorySource> source) {
  DirectoryConfig config;
  config.state_dir = dir + "/state";
  s.domains = {"example.com"};
  s.grace_period = 24h * 30;
  config.sources = {s};
  std::map<std::string, std::unique_ptr<DirectorySource>> sources;
  sources.emplace(s.name, std::move(source));
  return std::make_unique<DirectoryService>(config, std::move(sources), *ks.impl, *ks.impl,
                                            ks.registry, SystemClock::Instance(), ks.impl.get());
}

json GraphUser(int i, bool enabled) {
  const std::string mail = "u" + std::to_string(i) + "@example.com";
  return {{"id", "id-" + std::to_string(i)}, {"mail", mail}, {"proxyAddresses", {"SMTP:" + mail}},
          {"accountEnabled", enabled}, {"userType", "Member"}};
}

void WriteGraphDirectory(const std::string& path, int users, int changes) {
  json list = json::array();
  for (int i = 0; i < users; ++i) list.push_back(GraphUser(i, !(i < changes)));
  std::ofstream(path + ".tmp") << json{{"users", list}}.dump();
  std::filesystem::rename(path + ".tmp", path);
}

void Report(const char* what, const Step& full, const Step& inc, int users, int changes) {
  std::printf("%s: full sync of %d users %.2f s (%.0f users/s), %u users written; "
              "incremental after %d changes %.3f s, %u users written (ratio incremental/full time %.4f); "
              "peak RSS %.0f MB\n",
              what, users, full.seconds, users / full.seconds, full.written, changes, inc.seconds,
              inc.written, inc.seconds / full.seconds, PeakRssMb());
}

bool GraphBench(const std::string& dir, int users, int changes) {
  if (!Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " + dir +
             "/g.key -out " + dir + "/g.crt")) {
    return false;
  }
  WriteGraphDirectory(dir + "/directory.json", users, 0);
  std::ofstream(dir + "/secret") << "s3cret\n";
  egress::testing::ChildProcess fake({"/usr/bin/python3", SG_FAKE_GRAPH_PY, "--cert", dir + "/g.crt",
                                      "--key", dir + "/g.key", "--port-file", dir + "/port",
                                      "--directory", dir + "/directory.json", "--page-size", "999",
                                      "--client-secret", "s3cret"});
  int port = egress::testing::WaitForPortFile(dir + "/port", 10s);
  if (port <= 0) return false;
  Keyservice ks(dir + "/ks-graph");
  if (!ks.impl) return false;
  DirectorySourceConfig s;
  s.name = "graph";
  s.type = "graph";
  auto& g = s.graph;
  g.token_url = "https://127.0.0.1:" + std::to_string(port) + "/t/oauth2/v2.0/token";
  g.graph_url = "https://127.0.0.1:" + std::to_string(port);
  g.client_id = "test-client";
  g.client_secret_file = dir + "/secret";
  g.ca_file = dir + "/g.crt";
  g.cache_file = dir + "/state/graph.graph";
  auto source = std::make_unique<GraphSource>(g, std::make_unique<CurlGraphHttp>(g.ca_file),
                                              SystemClock::Instance(), nullptr);
  GraphSource* graph = source.get();
  auto service = Service(ks, dir, s, std::move(source));
  Step full = Sync(*service, "graph");
  WriteGraphDirectory(dir + "/directory.json", users, changes);  // M users disabled
  Step inc = Sync(*service, "graph");
  Report("graph", full, inc, users, changes);
  std::printf("graph: incremental run received %d entries in %d requests\n",
              graph->last_stats().entries, graph->last_stats().requests);
  return full.ok && inc.ok && full.written == static_cast<uint32_t>(users) &&
         inc.written == static_cast<uint32_t>(changes);
}

constexpr const char* kAdminPassword = "admin-pw";

bool LdapBench(const std::string& dir, int users, int changes) {
  ::sg::testing::SlapdOptions options;
  options.suffix = "dc=example,dc=com";
  options.bind_dn = "cn=reader,dc=example,dc=com";  // unused: the bench binds as the admin
  options.admin_password = kAdminPassword;
  options.require_tls = false;
  options.global_config = "sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited";
  {
    std::ostringstream entries;
    for (int i = 0; i < users; ++i) {
      entries << "dn: uid=u" << i << ",dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: u" << i
              << "\ncn: u\nsn: u\nmail: u" << i << "@example.com\n\n";
    }
    options.entries_ldif = entries.str();
  }
  const std::string d = dir + "/ldap";
  std::filesystem::create_directories(d);
  ::sg::testing::SlapdTestServer slapd(d, std::move(options));
  if (!slapd.Setup()) return false;
  Keyservice ks(dir + "/ks-ldap");
  if (!ks.impl) return false;
  DirectorySourceConfig s;
  s.name = "ldap";
  s.type = "ldap";
  s.ldap.url = slapd.ldap_url();
  s.ldap.starttls = false;  // a directory on this host (the bench measures paging, not TLS)
  s.ldap.bind_dn = slapd.admin_dn();
  s.ldap.bind_password_file = slapd.admin_password_file();
  s.ldap.base_dn = "dc=example,dc=com";
  s.ldap.page_size = 1000;
  auto service = Service(ks, dir, s, std::make_unique<LdapDirectorySource>(s.ldap));
  Step full = Sync(*service, "ldap");
  // M users leave the directory (ldapdelete), the rest stays.
  {
    std::ofstream o(d + "/delete.txt");
    for (int i = 0; i < changes; ++i) o << "uid=u" << i << ",dc=example,dc=com\n";
  }
  if (!Shell("ldapdelete -x -H " + slapd.ldap_url() + " -D " + slapd.admin_dn() + " -w " +
             kAdminPassword + " -f " + d + "/delete.txt")) {
    return false;
  }
  Step inc = Sync(*service, "ldap");
  Report("ldap", full, inc, users, changes);
  return full.ok && inc.ok && full.written == static_cast<uint32_t>(users) &&
         inc.written == static_cast<uint32_t>(changes);
}

int Count(const char* text) {
  int n = 0;
  const std::string_view s(text);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && end == s.data() + s.size() && n > 0 ? n : -1;
}

int Main(int argc, char** argv) {
  int users = 100000;
  int changes = 100;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      users = 2000;
      changes = 20;
    } else if (a == "--users" && i + 1 < argc) {
      users = Count(argv[++i]);
    } else if (a == "--changes" && i + 1 < argc) {
      changes = Count(argv[++i]);
    } else {
      users = -1;
    }
  }
  if (users <= 0 || changes <= 0 || changes > users) {
    std::cerr << "usage: directory_bench [--users N] [--changes M] [--quick]\n";
    return 2;
  }
  testing::TempDir dir;
  const bool graph = GraphBench(dir.path().string(), users, changes);
  const bool ldap = LdapBench(dir.path().string(), users, changes);
  if (!graph || !ldap) {
    std::cerr << "FAIL: graph " << (graph ? "ok" : "failed") << ", ldap " << (ldap ? "ok" : "failed")
              << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sg::keyservice

int main(int argc, char** argv) {
  try {
    return sg::keyservice::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "FAIL: " << e.what() << "\n";
    return 1;
  }
}
