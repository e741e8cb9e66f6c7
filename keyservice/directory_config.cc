#include "keyservice/directory_config.h"

#include <map>

#include "common/mail/address.h"
#include "keyservice/directory_state.h"

namespace sg::keyservice {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty() || path[0] == '/') return path;
  return data_dir + "/" + path;
}

Result<DirectorySourceConfig> ParseSource(const config::ConfigNode& sources,
                                          const std::string& name, const DirectoryConfig& defaults,
                                          const std::string& data_dir) {
  if (auto st = ValidateSourceName(name); !st.ok()) return sources.ErrorAt(name, st.error().message);
  SG_ASSIGN_OR_RETURN(config::ConfigNode node, sources.Map(name));
  DirectorySourceConfig s;
  s.name = name;
  SG_ASSIGN_OR_RETURN(s.type, node.Enum("type", {"csv"}, std::nullopt));
  SG_ASSIGN_OR_RETURN(auto domains, node.StringList("domains"));
  if (domains.empty()) return node.ErrorAt("domains", "a source must name the domains it feeds");
  for (const auto& d : domains) {
    auto normalised = mail::NormalizeDomain(d);
    if (!normalised.ok()) return node.ErrorAt("domains", normalised.error().message);
    s.domains.insert(*normalised);
  }
  SG_ASSIGN_OR_RETURN(s.interval, node.Duration("interval", std::chrono::milliseconds(0)));
  SG_ASSIGN_OR_RETURN(s.grace_period, node.Duration("grace_period", defaults.grace_period));
  SG_ASSIGN_OR_RETURN(auto percent,
                      node.Int("max_disable_percent", defaults.max_disable_percent, 0, 100));
  s.max_disable_percent = static_cast<int>(percent);
  if (s.type == "csv") {
    SG_ASSIGN_OR_RETURN(auto file, node.String("file"));
    s.file = Resolve(file, data_dir);
  }
  return s;
}

}  // namespace

Result<DirectoryConfig> ParseDirectoryConfig(const config::ConfigNode& section,
                                             const std::string& data_dir) {
  DirectoryConfig c;
  SG_ASSIGN_OR_RETURN(auto state_dir, section.String("state_dir", "directory"));
  c.state_dir = Resolve(state_dir, data_dir);
  SG_ASSIGN_OR_RETURN(c.grace_period, section.Duration("grace_period", c.grace_period));
  SG_ASSIGN_OR_RETURN(auto percent,
                      section.Int("max_disable_percent", c.max_disable_percent, 0, 100));
  c.max_disable_percent = static_cast<int>(percent);
  SG_ASSIGN_OR_RETURN(config::ConfigNode sources, section.Map("sources"));
  std::map<std::string, std::string> feeder;  // domain -> source
  for (const auto& name : sources.Keys()) {
    SG_ASSIGN_OR_RETURN(auto s, ParseSource(sources, name, c, data_dir));
    for (const auto& d : s.domains) {
      auto [it, fresh] = feeder.emplace(d, name);
      if (!fresh) {
        return sources.ErrorAt(name, d + " is already fed by source " + it->second +
                                         " (a domain has one directory source)");
      }
    }
    c.sources.push_back(std::move(s));
  }
  return c;
}

}  // namespace sg::keyservice
