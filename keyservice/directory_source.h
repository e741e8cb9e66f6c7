// A directory source: something that lists a directory's users as a
// DirectoryView (directory_plan.h). The CSV file source is here; the
// Microsoft Graph source is in directory_graph_source.h.
//
// Threading: Fetch is called by one thread at a time (DirectoryService
// serialises runs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "keyservice/directory_config.h"
#include "keyservice/directory_plan.h"
#include "keyservice/key_admin.h"

namespace sg::keyservice {

class DirectorySource {
 public:
  virtual ~DirectorySource() = default;
  // The full listing. kUnavailable when the directory cannot be reached,
  // kInvalidArgument when its answer is unusable (the message says why).
  virtual Result<DirectoryView> Fetch() = 0;
};

// Users of the CSV import (import_files.h): every line an enabled user,
// participating as its column says; a line's tenant column is ignored (the
// source's tenant applies).
DirectoryView DirectoryViewFromUsers(const std::vector<User>& users);

// The users CSV file a `type: csv` source names, read at every run.
class CsvFileSource final : public DirectorySource {
 public:
  explicit CsvFileSource(std::string file) : file_(std::move(file)) {}
  Result<DirectoryView> Fetch() override;

 private:
  std::string file_;
};

// The source a config entry describes (csv, graph: directory_graph_source.h);
// |clock| (token expiry) must outlive it.
Result<std::unique_ptr<DirectorySource>> MakeDirectorySource(
    const DirectorySourceConfig& config, const Clock& clock = SystemClock::Instance());

}  // namespace sg::keyservice
