// Maildir transport (local delivery): one file per recipient in <path>/new.
//
// Exactly once, also across crashes: the file name is derived from the
// delivery's identity (message id, form id, recipient), the copy is written
// to <path>/tmp under a unique name, fsynced, and hard-linked into new/
// only if no file of that name is there (link() fails with EEXIST when it
// is: delivered before, e.g. by a run that was killed before it recorded
// the delivery in the dedupe store). The new/ directory is fsynced before
// Deliver returns. Killed at any point, a record delivered again leaves one
// file: either the link happened (EEXIST next time) or it did not (no file).
// A leftover tmp/ file of a killed run is removed at Init once it is an hour
// old (Maildir readers ignore tmp/).
//
// Name: "<received unix seconds>.S<32 hex digits of SHA-256>.smimegate", no
// host name (it would change with the container). A reader that already
// moved the copy to cur/ is noticed as cur/<name>, cur/<name>:2, and
// cur/<name>:2,S (other flags are not looked for: that needs a reader to act
// in the microseconds between the link and the dedupe write, then a crash).
//
// Each file starts with Return-Path and Delivered-To lines, then the message.
//
// Threading: thread-safe; blocks on disk I/O (write + fsync + link + fsync).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sg::egress {

// Who the copy is for: the identity the file name is made from.
struct MaildirDelivery {
  std::string message_id;
  std::string form_id;
  std::string mail_from;
  std::string recipient;
  int64_t received_at_ms = 0;  // for the name's time part (sorting by readers)
};

class MaildirWriter {
 public:
  explicit MaildirWriter(std::string path) : path_(std::move(path)) {}

  // Creates path/{tmp,new,cur} when missing; removes our tmp/ leftovers
  // older than an hour.
  Status Init();
  // Delivers one copy unless one for the same delivery is in new/ or cur/
  // already. Returns true when it wrote the copy now, false when it was there.
  // kIoError (transient) when the disk refuses.
  Result<bool> Deliver(const MaildirDelivery& d, const std::string& message);

  // The file name (in new/) of a delivery.
  static std::string FileName(const MaildirDelivery& d);

  const std::string& path() const { return path_; }

 private:
  bool InCur(const std::string& name) const;
  std::string path_;
};

}  // namespace sg::egress
