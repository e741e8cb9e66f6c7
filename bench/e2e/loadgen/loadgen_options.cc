#include "bench/e2e/loadgen/loadgen_options.h"

#include <unistd.h>
#include <uv.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>

namespace sg::bench::loadgen {

std::optional<HostPort> ParseHostPort(const std::string& text) {
  HostPort hp;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    hp.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    hp.host = text.substr(0, colon);
    if (hp.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  hp.port = port;
  return hp;
}

namespace {

// "localhost" is accepted for convenience; anything else must be numeric
// (a benchmark must not depend on a resolver).
bool NormalizeHost(HostPort& hp) {
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  sockaddr_in6 a6{};
  sockaddr_in a4{};
  return uv_ip4_addr(hp.host.c_str(), hp.port, &a4) == 0 ||
         uv_ip6_addr(hp.host.c_str(), hp.port, &a6) == 0;
}

std::string DefaultRunId() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "r%lx%x", static_cast<unsigned long>(ms),
                static_cast<unsigned>(getpid()));
  return buf;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "smimegate-bench-smtp: %s (see --help)\n", message.c_str());
  return 2;
}

}  // namespace

ParseOutcome ParseOptions(int argc, char** argv) {
  CLI::App app{
      "SMTP load generator and sink: sends messages to --target and measures "
      "submission and end-to-end (delivery at --sink) latency on one clock."};
  Options o;
  std::string target_text, sink_text = "127.0.0.1:0", to_text;
  uint64_t messages = 0;
  double duration = 0, rate = 0;
  app.add_option("--target", target_text, "HOST:PORT of the SMTP server under test, or 'self'")
      ->required();
  app.add_option("--sink", sink_text, "HOST:PORT the delivery sink listens on (port 0 = any)");
  app.add_option("--connections", o.connections, "concurrent client connections")
      ->capture_default_str();
  auto* messages_opt = app.add_option("--messages", messages, "messages to send (default 1000)");
  auto* duration_opt =
      app.add_option("--duration", duration, "stop starting new messages after SECONDS");
  messages_opt->excludes(duration_opt);
  auto* rate_opt =
      app.add_option("--rate", rate, "open loop: messages per second (default closed loop)");
  app.add_option("--size", o.size, "approximate message size in bytes")->capture_default_str();
  app.add_option("--template", o.template_file,
                 "send this RFC 5322 message (CRLF or LF) instead; X-Bench-Id is prepended");
  app.add_option("--from", o.from, "envelope and header sender")->capture_default_str();
  app.add_option("--to", to_text, "recipient(s), comma separated, round robin per message");
  app.add_option("--drain-timeout", o.drain_timeout_s,
                 "seconds to wait for deliveries after the last submission")
      ->capture_default_str();
  app.add_option("--connect-timeout", o.connect_timeout_s,
                 "seconds without any usable connection before giving up")
      ->capture_default_str();
  app.add_option("--reply-timeout", o.reply_timeout_s,
                 "seconds a server may stay silent after a command")
      ->capture_default_str();
  app.add_option("--linger", o.linger_s,
                 "after the last delivery keep the sink open SECONDS more to catch late duplicates")
      ->capture_default_str();
  app.add_option("--wait-sink-close", o.wait_sink_close_s,
                 "at the end keep the sink up until the peer closed its connections to it "
                 "(at most SECONDS)")
      ->capture_default_str();
  app.add_option("--run-id", o.run_id, "run id in X-Bench-Id (default: random)");
  app.add_option("--json", o.json_file, "also write the JSON report to FILE");
  app.add_option("--dump-dir", o.dump_dir, "sink writes every received message to DIR");
  app.add_flag("--quiet", o.quiet, "no connection error lines on stderr");
  app.add_flag("--progress", o.progress, "print counters once per second on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::CallForAllHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return {std::nullopt, 2};
  }

  if (target_text == "self") {
    o.target_self = true;
  } else {
    auto hp = ParseHostPort(target_text);
    if (!hp)
      return {std::nullopt,
              UsageError("--target: expected HOST:PORT or self, got '" + target_text + "'")};
    if (hp->port == 0) return {std::nullopt, UsageError("--target: port 0 is not a server port")};
    if (!NormalizeHost(*hp)) {
      return {std::nullopt, UsageError("--target: '" + hp->host + "' is not a numeric IP address")};
    }
    o.target = *hp;
  }
  auto sink = ParseHostPort(sink_text);
  if (!sink)
    return {std::nullopt, UsageError("--sink: expected HOST:PORT, got '" + sink_text + "'")};
  if (!NormalizeHost(*sink)) {
    return {std::nullopt, UsageError("--sink: '" + sink->host + "' is not a numeric IP address")};
  }
  o.sink = *sink;
  if (o.connections < 1 || o.connections > 10000) {
    return {std::nullopt, UsageError("--connections: must be 1..10000")};
  }
  if (messages_opt->count() > 0) {
    if (messages < 1) return {std::nullopt, UsageError("--messages: must be at least 1")};
    o.messages = messages;
  } else if (duration_opt->count() > 0) {
    if (!(duration > 0)) return {std::nullopt, UsageError("--duration: must be > 0 seconds")};
    o.duration_s = duration;
  } else {
    o.messages = 1000;
  }
  if (rate_opt->count() > 0) {
    if (!(rate > 0) || rate > 1e7)
      return {std::nullopt, UsageError("--rate: must be > 0 and <= 1e7")};
    o.rate = rate;
  }
  if (o.size > (1ull << 30)) return {std::nullopt, UsageError("--size: at most 1 GiB")};
  if (!o.template_file.empty()) {
    std::ifstream f(o.template_file, std::ios::binary);
    if (!f) return {std::nullopt, UsageError("--template: cannot read '" + o.template_file + "'")};
  }
  if (!to_text.empty()) {
    o.to.clear();
    size_t start = 0;
    while (start <= to_text.size()) {
      auto comma = to_text.find(',', start);
      if (comma == std::string::npos) comma = to_text.size();
      std::string addr = to_text.substr(start, comma - start);
      if (addr.empty())
        return {std::nullopt, UsageError("--to: empty address in '" + to_text + "'")};
      o.to.push_back(addr);
      start = comma + 1;
    }
  }
  auto bad_addr = [](const std::string& a) {
    return a.find_first_of("<>\r\n ") != std::string::npos;
  };
  if (bad_addr(o.from)) return {std::nullopt, UsageError("--from: no spaces, <, > or line breaks")};
  for (const auto& a : o.to) {
    if (bad_addr(a))
      return {std::nullopt, UsageError("--to: no spaces, <, > or line breaks in '" + a + "'")};
  }
  if (!(o.drain_timeout_s >= 0)) return {std::nullopt, UsageError("--drain-timeout: must be >= 0")};
  if (!(o.wait_sink_close_s >= 0)) {
    return {std::nullopt, UsageError("--wait-sink-close: must be >= 0")};
  }
  if (!(o.linger_s >= 0)) return {std::nullopt, UsageError("--linger: must be >= 0")};
  if (!(o.connect_timeout_s > 0))
    return {std::nullopt, UsageError("--connect-timeout: must be > 0")};
  if (!(o.reply_timeout_s > 0)) return {std::nullopt, UsageError("--reply-timeout: must be > 0")};
  if (o.run_id.empty()) o.run_id = DefaultRunId();
  if (o.run_id.find_first_of(" \t\r\n") != std::string::npos) {
    return {std::nullopt, UsageError("--run-id: no whitespace")};
  }
  return {o, 0};
}

}  // namespace sg::bench::loadgen
