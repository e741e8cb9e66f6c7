// Issue 13 point 7: 20 clients stream maximum-size messages at once while
// the queue holds its acks. With max_bytes_in_flight the ingress refuses
// what does not fit with 452 4.3.1 and the process's peak RSS grows by less
// than 4 x max_bytes_in_flight. (Before the cap every message was buffered:
// 20 x 4 MiB of content plus copies.)
//
// Its own executable, so the process's peak RSS is this scenario's alone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ingress/ingress_server.h"
#include "tests/ingress/fake_producer.h"
#include "tests/ingress/smtp_test_client.h"
#include "tests/ingress/test_listeners.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;
using testing::CodeOf;
using testing::FakeProducer;
using testing::SmtpTestClient;

// kB from /proc/self/status ("VmHWM:", "VmRSS:").
long StatusKb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

TEST(IngressBytesInFlightTest, TwentyClientsStreamingMaxSizeHitTheCapAndRssStaysBounded) {
  constexpr uint64_t kMaxMessage = 4 << 20;
  constexpr uint64_t kCap = 16 << 20;
  constexpr int kClients = 20;
  IngressConfig config;
  config.hostname = "gw.example.org";
  config.threads = 2;
  config.max_message_size = kMaxMessage;
  config.max_bytes_in_flight = kCap;
  config.max_connections_per_ip = 100;
  config.queue_ack_timeout = 60s;
  config.shutdown_grace = 2s;
  config.listeners = {testing::LoopbackListener()};
  FakeProducer producer;
  producer.SetHold(true);  // everything accepted stays in flight until released
  metrics::Registry registry;
  IngressServer server(config, {"example.org"}, IngressTopics{}, producer, registry);
  ASSERT_TRUE(server.Start().ok());

  // One message of just under the maximum, shared by every client.
  std::string body = "Subject: big\r\n\r\n";
  const std::string line(998, 'x');
  while (body.size() + line.size() + 2 < kMaxMessage - 4096) body += line + "\r\n";
  body += ".\r\n";

  // Reset the peak RSS, then measure from here.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const long base_kb = StatusKb("VmRSS:");
  ASSERT_GT(base_kb, 0);

  std::atomic<int> refused{0}, accepted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    // Half announce the size (refused at MAIL when it cannot fit), half do not
    // (refused at the end of the data, the content discarded as it streams).
    const bool announce = i % 2 == 0;
    threads.emplace_back([&, announce] {
      SmtpTestClient c;
      if (!c.Connect(server.Port("mx")) || CodeOf(c.ReadReply()) != "220") {
        ++other;
        return;
      }
      c.Cmd("EHLO c");
      std::string mail =
          CodeOf(c.Cmd("MAIL FROM:<a@remote.example>" +
                       (announce ? " SIZE=" + std::to_string(body.size()) : std::string())));
      if (mail == "452 4.3.1") {
        ++refused;
        return;
      }
      c.Cmd("RCPT TO:<x@example.org>");
      if (CodeOf(c.Cmd("DATA")) != "354") {
        ++other;
        return;
      }
      c.Send(body);
      const std::string reply = CodeOf(c.ReadReply(120000));
      if (reply == "452 4.3.1") {
        ++refused;
      } else if (reply == "250 2.0.0") {
        ++accepted;  // after the release below
      } else {
        ++other;
      }
    });
  }
  // Every client is either refused or held by the queue.
  for (int i = 0; i < 1200 && refused + static_cast<int>(producer.HeldCount()) + other < kClients;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  const long peak_kb = StatusKb("VmHWM:");
  const int held = static_cast<int>(producer.HeldCount());
  const int refused_before_release = refused.load();
  const long growth_kb = peak_kb - base_kb;
  std::printf(
      "peak RSS growth %ld KiB for %d clients x %llu KiB, cap %llu KiB: "
      "%d refused with 452, %d held by the queue\n",
      growth_kb, kClients, static_cast<unsigned long long>(kMaxMessage >> 10),
      static_cast<unsigned long long>(kCap >> 10), refused_before_release, held);
  EXPECT_EQ(refused_before_release + held, kClients);
  EXPECT_GE(refused_before_release, kClients - static_cast<int>(kCap / kMaxMessage));
  EXPECT_GE(held, 1);
  EXPECT_LT(growth_kb, static_cast<long>(4 * kCap / 1024));
  EXPECT_NE(registry.Serialize().find("reason=\"no_storage\""), std::string::npos);

  // The held ones get their 250 once the queue acks; the budget empties.
  producer.ReleaseHeld();
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(accepted.load(), held);
  EXPECT_EQ(refused.load(), refused_before_release);
  server.Stop();
}

}  // namespace
}  // namespace sg::ingress
