#include "tests/support/dns_test_server.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace sg::testing {
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

int DnsTestServer::Queries() const { return static_cast<int>(QueryLog().size()); }

std::vector<std::string> DnsTestServer::QueryLog() const {
  std::istringstream in(ReadAll(dir_ / "dns.port.log"));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace sg::testing
