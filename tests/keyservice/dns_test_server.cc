#include "tests/keyservice/dns_test_server.h"

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <utility>

#include "keyservice/key_service_impl.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice::testing {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

DnsTestServer::DnsTestServer(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  SetRecords({});
  const std::string script = std::string(SG_DNS_SERVER_PY);
  const std::string port_file = (dir_ / "dns.port").string();
  const std::string zone_file = (dir_ / "zone").string();
  pid_ = fork();
  if (pid_ == 0) {
    execl("/usr/bin/python3", "python3", script.c_str(), "--port-file", port_file.c_str(),
          "--zone-file", zone_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadAll(port_file);
    if (!text.empty()) {
      port_ = std::stoi(text);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // waiting for a process
  }
}

DnsTestServer::~DnsTestServer() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 250; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

dns::ResolverOptions DnsTestServer::Options() const {
  dns::ResolverOptions o;
  o.servers.push_back(dns::Server{"127.0.0.1", static_cast<uint16_t>(port_)});
  o.timeout = std::chrono::seconds(2);
  return o;
}

void DnsTestServer::SetRecords(const std::vector<std::string>& records) {
  const auto tmp = dir_ / "zone.tmp";
  {
    std::ofstream out(tmp);
    for (const auto& r : records) out << r << "\n";
  }
  std::filesystem::rename(tmp, dir_ / "zone");
}

int DnsTestServer::Queries() const {
  std::string log = ReadAll(dir_ / "dns.port.log");
  return static_cast<int>(std::count(log.begin(), log.end(), '\n'));
}

}  // namespace sg::keyservice::testing

namespace sg::keyservice::testing {

Status ValidateDomainForTest(KeyServiceImpl& ks, DnsTestServer& dns, ::sg::testing::FakeClock& clock,
                             const std::string& domain) {
  SG_ASSIGN_OR_RETURN(Domain d, ks.ValidateDomain(domain));
  dns.SetRecords({d.record_name + " TXT " + d.record_value});
  clock.Advance(std::chrono::seconds(d.next_check_at - UnixSeconds(clock.Now())));
  auto checked = ks.CheckDomainValidations();
  if (!checked.ok()) return checked.error();
  SG_ASSIGN_OR_RETURN(auto domains, ks.ListDomains());
  for (const auto& each : domains) {
    if (each.name == d.name && each.validation_state == "valid") return OkStatus();
  }
  return MakeError(ErrorCode::kInternal, "domain " + domain + " did not become valid");
}

}  // namespace sg::keyservice::testing
