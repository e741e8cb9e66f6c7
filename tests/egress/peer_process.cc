#include "tests/egress/peer_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace sg::egress::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() { Stop(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

void ChildProcess::Kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ChildProcess::Stop() {
  if (pid_ <= 0) return;
  Kill(SIGTERM);
  if (Wait(std::chrono::seconds(5)) == -1) {
    Kill(SIGKILL);
    Wait(std::chrono::seconds(5));
  }
}

int WaitForPortFile(const std::string& path, std::chrono::milliseconds timeout) {
  int port = -1;
  WaitUntil(
      [&] {
        std::ifstream in(path);
        return static_cast<bool>(in >> port);
      },
      timeout);
  return port;
}

std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::vector<nlohmann::json> SmtpPeer::Events(const std::string& event) const {
  std::vector<nlohmann::json> out;
  for (auto& j : ReadJsonLines(log)) {
    if (j.value("event", "") == event) out.push_back(j);
  }
  return out;
}

std::string PeersDir() { return std::string(SG_SOURCE_DIR) + "/tests/egress/peers"; }

SmtpPeer StartSmtpPeer(const std::string& work_dir, const std::string& name,
                       const std::vector<std::string>& extra_args, const std::string& host,
                       int port) {
  SmtpPeer peer;
  std::string base = work_dir + "/" + name;
  std::filesystem::create_directories(base + "/msgs");
  peer.log = base + "/log.jsonl";
  peer.dir = base + "/msgs";
  std::vector<std::string> argv{"/usr/bin/python3", PeersDir() + "/smtp_peer.py",
                                "--host",           host,
                                "--port",           std::to_string(port),
                                "--port-file",      base + "/port",
                                "--log",            peer.log,
                                "--dir",            peer.dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  peer.process = ChildProcess(argv);
  peer.port = WaitForPortFile(base + "/port", std::chrono::seconds(15));
  return peer;
}

}  // namespace sg::egress::testing
