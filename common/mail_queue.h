// The mail queue an operator manages (what `smimegatectl queue` does, like
// Postfix's mailq/postsuper/qshape): messages egress has not delivered yet.
//
//   list     every queued message: deferred (waiting for its next attempt on
//            the retry topic), held (by an administrator: never attempted
//            until released) or active (an attempt is running now)
//   show     the queued records of one message id (a message whose
//            recipients went different ways has several)
//   hold     deferred records of the id become held; durable: a held copy
//            (record header sg-held) goes onto the retry topic first and only
//            then is the deferred record let go, so a restart finds it held
//   release  held records are attempted now (the hold ends durably when that
//            attempt's outcome is on the queue: delivered, deferred again or
//            bounced; a crash before that finds it still held)
//   delete   deferred or held records go to the dead-letter topic with the
//            reason "deleted by <who>" (kept with a reason, DESIGN.md
//            invariant 3: `smimegatectl deadletter` can still replay it)
//   retry    deferred records (of one recipient domain, or all) are due now
//
// The message id is the envelope's gateway-unique id (the queue key).
// Errors: kNotFound when the id has no record in the state the operation
// needs; kUnavailable when an attempt is running (try again), or
// when egress is not running.
//
// Threading: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::mailqueue {

struct Entry {
  std::string message_id;
  std::string state;  // "deferred", "held" or "active"
  std::string direction;  // "inbound" / "outbound"
  std::string mail_from;
  std::vector<std::string> recipients;
  uint64_t message_bytes = 0;
  uint32_t attempts = 0;
  int64_t received_at_ms = 0;
  int64_t first_attempt_at_ms = 0;
  int64_t next_attempt_at_ms = 0;  // deferred only
  std::string last_error;
  std::string held_by;  // held only
  std::string position;  // "<topic>:<partition>:<offset>" of the record
};

class Admin {
 public:
  virtual ~Admin() = default;
  virtual Result<std::vector<Entry>> List() = 0;
  virtual Result<std::vector<Entry>> Show(const std::string& message_id) = 0;
  // How many records changed. `who` names the administrator (audit, reason).
  virtual Result<uint32_t> Hold(const std::string& message_id, const std::string& who) = 0;
  virtual Result<uint32_t> Release(const std::string& message_id) = 0;
  virtual Result<uint32_t> Delete(const std::string& message_id, const std::string& who) = 0;
  // Empty domain: every deferred record.
  virtual Result<uint32_t> Retry(const std::string& domain) = 0;
};

// The qshape view: per recipient domain, recipients per age bucket (age =
// now - received_at_ms). Bucket upper bounds in minutes: 5, 10, 20, 40, 80,
// 160, 320, 640, 1280, and one more for anything older.
struct SummaryRow {
  std::string domain;
  uint64_t total = 0;
  std::vector<uint64_t> buckets;
};
struct Summary {
  std::vector<int64_t> bucket_minutes;  // upper bounds; the last bucket is open
  SummaryRow total;                     // domain "TOTAL"
  std::vector<SummaryRow> rows;         // most recipients first, then by name
  std::map<std::string, uint64_t> states;  // messages per state
};
Summary Summarize(const std::vector<Entry>& entries, int64_t now_ms);

}  // namespace sg::mailqueue
