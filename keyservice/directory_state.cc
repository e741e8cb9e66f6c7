#include "keyservice/directory_state.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sg::keyservice {
namespace {

using nlohmann::json;

json ToJson(const DirectorySourceState& s) {
  json j;
  j["version"] = 1;
  j["disabled_since"] = s.memory.disabled_since;
  j["aliases"] = s.memory.aliases;
  json totals = json::object();
  for (const auto& [domain, t] : s.totals) {
    totals[domain] = {{"directory_users", t.directory_users}, {"participating", t.participating}};
  }
  j["totals"] = totals;
  const auto& r = s.last_run;
  j["last_run"] = {{"started_at", r.started_at},   {"finished_at", r.finished_at},
                   {"duration_seconds", r.duration_seconds},
                   {"ok", r.ok},                   {"guard_tripped", r.guard_tripped},
                   {"changes", r.changes},         {"errors", r.errors}};
  j["last_success_at"] = s.last_success_at;
  j["resume_token"] = s.resume_token;
  return j;
}

DirectorySourceState FromJson(const json& j) {
  DirectorySourceState s;
  s.memory.disabled_since = j.at("disabled_since").get<std::map<std::string, int64_t>>();
  s.memory.aliases = j.at("aliases").get<std::map<std::string, std::vector<std::string>>>();
  for (const auto& [domain, t] : j.at("totals").items()) {
    s.totals[domain] = {t.at("directory_users").get<uint32_t>(),
                        t.at("participating").get<uint32_t>()};
  }
  const auto& r = j.at("last_run");
  s.last_run.started_at = r.at("started_at").get<int64_t>();
  s.last_run.finished_at = r.at("finished_at").get<int64_t>();
  s.last_run.duration_seconds = r.at("duration_seconds").get<double>();
  s.last_run.ok = r.at("ok").get<bool>();
  s.last_run.guard_tripped = r.at("guard_tripped").get<bool>();
  s.last_run.changes = r.at("changes").get<std::map<std::string, uint32_t>>();
  s.last_run.errors = r.at("errors").get<std::vector<std::string>>();
  s.last_success_at = j.at("last_success_at").get<int64_t>();
  s.resume_token = j.at("resume_token").get<std::string>();
  return s;
}

}  // namespace

Status ValidateSourceName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "directory source name \"" + name +
                         "\" must be 1-64 characters of A-Z a-z 0-9 . _ - (not starting with .)");
  }
  return OkStatus();
}

std::string DirectoryStateStore::PathOf(const std::string& source) const {
  return dir_ + "/" + source + ".json";
}

Result<DirectorySourceState> DirectoryStateStore::Load(const std::string& source) const {
  SG_RETURN_IF_ERROR(ValidateSourceName(source));
  std::ifstream in(PathOf(source), std::ios::binary);
  if (!in) return DirectorySourceState{};
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    return FromJson(json::parse(buf.str()));
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kCorruption,
                     PathOf(source) + ": directory sync state does not parse: " + e.what());
  }
}

Status DirectoryStateStore::Save(const std::string& source,
                                 const DirectorySourceState& state) const {
  SG_RETURN_IF_ERROR(ValidateSourceName(source));
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kIoError, dir_ + ": cannot create: " + std::strerror(errno));
  }
  std::string path = PathOf(source), tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << ToJson(state).dump();
    out.flush();
    if (!out) return MakeError(ErrorCode::kIoError, tmp + ": cannot write");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return MakeError(ErrorCode::kIoError, path + ": cannot replace: " + std::strerror(errno));
  }
  return OkStatus();
}

}  // namespace sg::keyservice
