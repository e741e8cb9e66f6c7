// What directory sync keeps per source between runs: the engine's memory
// (disabled-since times, aliases), the last run's outcome (smimegatectl
// directory status), the user totals per fed domain (the 20% rule) and a
// source's resume token (the Graph delta link).
//
// Stored as one JSON file per source, <dir>/<source>.json, written to a
// temporary file and renamed (a crash leaves the old or the new state).
// State is keyed by source name only: a source names its domains (and,
// optionally, its tenant), so two tenants' sources never share state.
//
// Threading: not thread-safe; DirectorySync serialises runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/directory_plan.h"

namespace sg::keyservice {

struct DirectoryRunRecord {
  int64_t started_at = 0;   // unix seconds; 0 = never ran
  int64_t finished_at = 0;
  double duration_seconds = 0;
  bool ok = false;
  bool guard_tripped = false;
  std::map<std::string, uint32_t> changes;  // kind name -> applied count
  std::vector<std::string> errors;          // guard message, failed changes, source errors
};

struct DirectorySourceState {
  DirectoryMemory memory;
  std::map<std::string, DomainTotals> totals;
  DirectoryRunRecord last_run;
  int64_t last_success_at = 0;
  std::string resume_token;  // Graph: the stored delta link
};

// A source name is 1-64 of [A-Za-z0-9._-], not starting with '.'.
Status ValidateSourceName(const std::string& name);

class DirectoryStateStore {
 public:
  // |dir| is created (0700) on first save.
  explicit DirectoryStateStore(std::string dir) : dir_(std::move(dir)) {}
  // An empty state when the source never ran; kCorruption for a file that
  // does not parse (naming it).
  Result<DirectorySourceState> Load(const std::string& source) const;
  Status Save(const std::string& source, const DirectorySourceState& state) const;

 private:
  std::string PathOf(const std::string& source) const;
  std::string dir_;
};

}  // namespace sg::keyservice
