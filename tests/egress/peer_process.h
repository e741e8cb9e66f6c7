// Test peers as child processes: the Python SMTP peer and DNS server in
// tests/egress/peers, Postfix smtp-sink, and the egress crash harness.
// Each is killed (SIGTERM, then SIGKILL) when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sg::egress::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  pid_t pid() const { return pid_; }
  void Kill(int sig);
  // Waits for the exit; returns the status from waitpid, -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  void Stop();  // SIGTERM, wait 5 s, then SIGKILL

 private:
  pid_t pid_ = -1;
};

// Waits until `path` exists and holds a number; -1 on timeout.
int WaitForPortFile(const std::string& path, std::chrono::milliseconds timeout);

// The JSON lines of `path` (missing file: none).
std::vector<nlohmann::json> ReadJsonLines(const std::string& path);

// Polls `pred` every 10 ms until it is true or `timeout` passes.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// An aiosmtpd peer (tests/egress/peers/smtp_peer.py).
struct SmtpPeer {
  ChildProcess process;
  int port = 0;
  std::string log;  // JSON lines: "mail" and "message" events
  std::string dir;  // raw messages
  std::vector<nlohmann::json> Events(const std::string& event) const;
};
SmtpPeer StartSmtpPeer(const std::string& work_dir, const std::string& name,
                       const std::vector<std::string>& extra_args, const std::string& host = "127.0.0.1",
                       int port = 0);

std::string PeersDir();  // tests/egress/peers in the source tree

}  // namespace sg::egress::testing
