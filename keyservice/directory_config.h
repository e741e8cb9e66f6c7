// keyservice.directory: the directory sources whose users the keyservice
// follows (docs/directory.md, docs/configuration.md).
//
//   keyservice:
//     directory:
//       state_dir: directory          # relative to data_dir
//       grace_period: 30d             # disabled -> removed
//       max_disable_percent: 10       # mass-removal guard
//       sources:
//         hr-export:                  # the source name keys its state
//           type: csv
//           domains: [example.com]    # hosted domains this source feeds
//           file: /etc/smimegate/users.csv
//           interval: 1h              # 0 or absent: only `smimegatectl directory sync`
//
// Each source may override grace_period and max_disable_percent. A domain is
// fed by at most one source (two sources would disable each other's users).
// The tenant a source belongs to will sit next to `domains` once tenants
// exist; the state is keyed by source name already.
//
// Threading: pure functions.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/result.h"

namespace sg::keyservice {

struct DirectorySourceConfig {
  std::string name;
  std::string type;  // "csv"
  std::set<std::string> domains;  // normalised, hosted
  std::chrono::milliseconds interval{0};  // 0: on demand only
  std::chrono::milliseconds grace_period{0};
  int max_disable_percent = 10;
  std::string file;  // csv: the users file (import_files.h format)
};

struct DirectoryConfig {
  std::string state_dir;  // absolute
  std::chrono::milliseconds grace_period{std::chrono::hours(24 * 30)};
  int max_disable_percent = 10;
  std::vector<DirectorySourceConfig> sources;
};

// Errors name the key. That the domains are hosted is checked when the
// service starts (DirectoryService::Create; hosted domains may be added at
// run time).
Result<DirectoryConfig> ParseDirectoryConfig(const config::ConfigNode& section,
                                             const std::string& data_dir);

}  // namespace sg::keyservice
