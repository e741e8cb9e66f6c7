// The scenarios of bench/portal (docs/benchmarks.md "Portal"), each measured
// against a baseline in the same run on the same stage:
//   - intake: records stored + notified per second, against a plain relay of
//     the same records through the same queue (consume, produce one record,
//     commit: the queue's share of the intake's work), and beside the
//     sign+encrypt rate of the same messages (the S/MIME engine, one thread);
//   - pages: inbox and message page latency (p50/p99) under C concurrent
//     logged-in clients, against a static file of the same server;
//   - login: wall time and process CPU per login (Argon2id verification),
//     against the login page (GET) of the same server;
//   - exhaustion: N idle TCP connections that never start TLS, then one
//     normal request that must be answered within a bound, against the same
//     request without them.
//
// Threading: each scenario runs on the calling thread and starts its own
// client threads.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bench/portal/portal_bench_stage.h"

namespace sg::portal::bench {

struct IntakeResult {
  size_t records = 0;
  double portal_seconds = 0;
  double relay_seconds = 0;
  bool exact = false;  // every record stored and notified exactly once
  std::string problem;
};
IntakeResult RunIntake(BenchStage& stage, size_t records, size_t message_bytes, int rep);

// The sign+encrypt baseline: the same messages signed and encrypted by the
// S/MIME engine on one thread (what a worker does for a recipient with a
// certificate).
struct SmimeResult {
  size_t records = 0;
  double seconds = 0;
  std::string problem;
};
SmimeResult RunSignEncrypt(size_t records, size_t message_bytes);

struct Latency {
  size_t requests = 0;
  size_t errors = 0;  // not 200
  double p50 = 0;
  double p99 = 0;
};
struct PagesResult {
  size_t clients = 0;
  Latency static_file, inbox, message;
  std::string problem;
};
PagesResult RunPages(BenchStage& stage, size_t clients, size_t requests_per_client,
                     size_t accounts, const std::string& password);

struct LoginResult {
  size_t logins = 0;
  size_t failures = 0;
  double login_p50 = 0, page_p50 = 0;        // seconds, wall
  double login_cpu = 0, page_cpu = 0;        // seconds of process CPU per request
  double verify_cpu = 0;                     // one Argon2id verification, in process
  std::string problem;
};
LoginResult RunLogin(BenchStage& stage, size_t logins, const std::string& address,
                     const std::string& password);

struct ExhaustionResult {
  size_t idle = 0;
  double baseline_seconds = 0;
  double seconds = 0;  // the request with `idle` idle connections open
  int status = 0;      // its HTTP status (0: failed)
  int baseline_status = 0;
};
ExhaustionResult RunExhaustion(BenchStage& stage, size_t idle);

}  // namespace sg::portal::bench
