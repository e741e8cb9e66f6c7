#include "tests/support/kafka_broker_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace sg::testing {

KafkaBrokerProcess::KafkaBrokerProcess(const std::string& binary,
                                       const std::vector<std::pair<std::string, int>>& topics,
                                       int brokers) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return;
  std::vector<std::string> args = {binary, "--brokers", std::to_string(brokers)};
  for (const auto& [name, parts] : topics) {
    args.push_back("--topic");
    args.push_back(name + ":" + std::to_string(parts));
  }
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // The broker must not outlive a test binary that aborts or is killed
    // (its destructor never runs then): the kernel sends SIGTERM when the
    // forking thread exits. The getppid check closes the race with a parent
    // that died before prctl.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  std::string line = ReadLine();
  if (line.rfind("bootstrap=", 0) == 0) bootstrap_ = line.substr(10);
}

KafkaBrokerProcess::~KafkaBrokerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(100 * 1000);
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
}

std::string KafkaBrokerProcess::ReadLine() {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{from_child_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    if (read(from_child_, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

bool KafkaBrokerProcess::Command(const std::string& command) {
  std::string c = command + "\n";
  if (write(to_child_, c.data(), c.size()) != static_cast<ssize_t>(c.size())) return false;
  return ReadLine() == "ok";
}

}  // namespace sg::testing
