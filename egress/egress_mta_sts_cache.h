// The MTA-STS policy cache (RFC 8461 5): per recipient domain, the last
// policy fetched, its TXT id and when it was fetched. Kept in memory and,
// when a directory is configured (egress.mta_sts.cache_path), one file per
// domain there, so a restart keeps the policies (an attacker who strips
// the TXT record or blocks the HTTPS fetch after a restart still meets the
// cached enforce policy).
//
// A file holds "id\nfetched_ms\n" and the policy text as fetched; it is
// parsed again on load, and a file that does not parse is ignored with a
// warning (the next delivery fetches anew).
//
// Threading: Lookup/Put on the egress loop thread; Persist (the file
// write) may run on any thread, for one domain at a time.
// Errors: Persist returns kIoError naming the file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "egress/egress_mta_sts_policy.h"

namespace sg::egress {

struct StsCacheEntry {
  std::string id;
  std::string text;  // the policy file as fetched
  StsPolicy policy;
  int64_t fetched_ms = 0;
  bool Expired(int64_t now_ms) const { return now_ms >= fetched_ms + policy.max_age_s * 1000; }
};

class StsCache {
 public:
  // `dir`: absolute; "" keeps policies in memory only. Loads what is there.
  explicit StsCache(std::string dir);

  // The entry of `domain` (lower case), expired or not; nullopt when none.
  std::optional<StsCacheEntry> Lookup(const std::string& domain) const;
  void Put(const std::string& domain, StsCacheEntry entry);
  // Writes `entry` to the domain's file (temporary file, then rename).
  Status Persist(const std::string& domain, const StsCacheEntry& entry) const;

  size_t size() const { return entries_.size(); }

 private:
  void Load();
  std::string dir_;
  std::map<std::string, StsCacheEntry> entries_;
};

}  // namespace sg::egress
