// Command line of smimegate-bench-smtp (contract: the lead's E2E spec, Part L).
//
// Purpose: turn argv into a validated Options value; nothing else. Flags may be
// added, never renamed: the harness (Part O) builds these command lines.
// Threading: pure function, no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg::bench::loadgen {

struct HostPort {
  std::string host;  // numeric IPv4 or IPv6 address (no brackets)
  int port = 0;
};

struct Options {
  bool target_self = false;
  HostPort target;  // unset when target_self
  HostPort sink{"127.0.0.1", 0};
  int connections = 16;
  std::optional<uint64_t> messages;  // default 1000 when neither this nor duration
  std::optional<double> duration_s;
  std::optional<double> rate;  // open loop when set
  uint64_t size = 10240;
  std::string template_file;
  std::string from = "loadgen@bench.example";
  std::vector<std::string> to{"sink@bench.example"};
  double drain_timeout_s = 60;
  double linger_s = 0;  // keep the sink open after completion (late duplicates)
  // After completion or drain timeout, keep the sink up until the system
  // under test has closed its (cached) connections to it, at most this long;
  // so the next run on the same sink port does not meet stale connections.
  double wait_sink_close_s = 0;
  double connect_timeout_s = 10;  // give up when nothing could connect for this long
  double reply_timeout_s = 60;    // a server silent this long mid-command drops the connection
  std::string run_id;
  std::string json_file;
  std::string dump_dir;  // sink writes each received message here (tests)
  bool quiet = false;
  bool progress = false;  // one status line per second on stderr
};

struct ParseOutcome {
  std::optional<Options> options;  // set when the program should run
  int exit_code = 0;               // otherwise: exit with this (0 for --help, 2 for errors)
};

// Parses and validates; prints help or a specific error to stdout/stderr itself.
ParseOutcome ParseOptions(int argc, char** argv);

// "1.2.3.4:25" or "[::1]:25" -> HostPort; empty optional when malformed.
std::optional<HostPort> ParseHostPort(const std::string& text);

}  // namespace sg::bench::loadgen
