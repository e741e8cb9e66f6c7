#include "keyservice/directory_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "keyservice/directory_graph_source.h"
#include "keyservice/directory_ldap_source.h"
#include "keyservice/import_files.h"

namespace sg::keyservice {

DirectoryView DirectoryViewFromUsers(const std::vector<User>& users) {
  DirectoryView view;
  view.users.reserve(users.size());
  for (const auto& u : users) view.users.push_back({u.address, {}, true, u.participating});
  return view;
}

Result<DirectoryView> CsvFileSource::Fetch() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kUnavailable, file_ + ": cannot open: " + std::strerror(errno));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  SG_ASSIGN_OR_RETURN(auto users, ParseUsersCsv(buf.str(), file_));
  return DirectoryViewFromUsers(users);
}

Result<std::unique_ptr<DirectorySource>> MakeDirectorySource(const DirectorySourceConfig& config,
                                                             const Clock& clock) {
  if (config.type == "csv") return std::unique_ptr<DirectorySource>(new CsvFileSource(config.file));
  if (config.type == "ldap") return std::unique_ptr<DirectorySource>(new LdapDirectorySource(config.ldap));
  if (config.type == "graph") {
    return std::unique_ptr<DirectorySource>(new GraphSource(
        config.graph, std::make_unique<CurlGraphHttp>(config.graph.ca_file), clock, nullptr));
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "directory source " + config.name + ": unknown type \"" + config.type + "\"");
}

}  // namespace sg::keyservice
