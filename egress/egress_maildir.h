// Maildir transport (the embedded demo): one file per recipient in
// <path>/new, written to <path>/tmp first, fsynced, then renamed, with a
// unique name (time.pid_counter_random.host), as Maildir readers expect.
//
// Each file starts with Return-Path and Delivered-To lines, then the message.
//
// Threading: thread-safe; blocks on disk I/O (write + fsync + rename).
#pragma once

#include <string>

#include "common/result.h"

namespace sg::egress {

class MaildirWriter {
 public:
  explicit MaildirWriter(std::string path) : path_(std::move(path)) {}

  // Creates path/{tmp,new,cur} when missing.
  Status Init();
  // Delivers one copy. kIoError (transient) when the disk refuses.
  Status Deliver(const std::string& mail_from, const std::string& recipient,
                 const std::string& message);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sg::egress
