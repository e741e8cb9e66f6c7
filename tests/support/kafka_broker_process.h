// Starts smimegate-test-broker (tests/support/kafka_test_broker.cc) as a
// child process on loopback, and stops it (SIGTERM, then SIGKILL) when the
// object goes away. Commands take brokers down and up while tests run.
// The child also gets SIGTERM when the thread that created the object exits
// (PR_SET_PDEATHSIG), so an aborted test binary leaves no broker behind:
// create it on the test's main thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace sg::testing {

class KafkaBrokerProcess {
 public:
  // `binary`: path of smimegate-test-broker; topics are created at start.
  KafkaBrokerProcess(const std::string& binary,
                     const std::vector<std::pair<std::string, int>>& topics, int brokers = 1);
  ~KafkaBrokerProcess();
  KafkaBrokerProcess(const KafkaBrokerProcess&) = delete;
  KafkaBrokerProcess& operator=(const KafkaBrokerProcess&) = delete;

  bool ok() const { return !bootstrap_.empty(); }
  const std::string& bootstrap() const { return bootstrap_; }
  // Sends one stdin command ("down 1", "up 1", "topic x 4"); true on "ok".
  bool Command(const std::string& command);

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string bootstrap_;
  std::string ReadLine();
};

}  // namespace sg::testing
