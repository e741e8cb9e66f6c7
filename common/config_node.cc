#include "common/config_node.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "common/ascii.h"
#include "common/config_entries.h"

extern char** environ;

namespace sg::config {

struct ParseState {
  std::string source;  // file name, for messages
  YAML::Node root;
  std::unordered_set<std::string> seen;  // full key paths read by some parser
};

namespace {

std::string LineOf(const YAML::Node& node) {
  if (!node.IsDefined() || node.Mark().line < 0) return "";
  return " (line " + std::to_string(node.Mark().line + 1) + ")";
}

// Expands ${VAR} and ${VAR:-default} in a scalar.
Result<std::string> Expand(const std::string& in, char** env, const std::string& where) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
      size_t end = in.find('}', i + 2);
      if (end == std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "config " + where + ": unterminated ${ in \"" + in + "\"");
      }
      std::string expr = in.substr(i + 2, end - i - 2);
      std::string name = expr, def;
      bool has_def = false;
      if (size_t p = expr.find(":-"); p != std::string::npos) {
        name = expr.substr(0, p);
        def = expr.substr(p + 2);
        has_def = true;
      }
      std::string value;
      bool found = false;
      for (char** e = env; e && *e; ++e) {
        std::string_view kv(*e);
        if (kv.size() > name.size() && kv.substr(0, name.size()) == name &&
            kv[name.size()] == '=') {
          value = std::string(kv.substr(name.size() + 1));
          found = true;
          break;
        }
      }
      if (!found || value.empty()) {
        if (!has_def) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "config " + where + ": environment variable " + name +
                               " is not set (write ${" + name + ":-default} for a default)");
        }
        value = def;
      }
      out += value;
      i = end + 1;
    } else {
      out += in[i++];
    }
  }
  return out;
}

Status ExpandTree(YAML::Node node, char** env, const std::string& path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s.find("${") != std::string::npos) {
      SG_ASSIGN_OR_RETURN(std::string v, Expand(s, env, path));
      node = v;
    }
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      SG_RETURN_IF_ERROR(ExpandTree(it->second, env,
                                    path.empty() ? it->first.Scalar()
                                                 : path + "." + it->first.Scalar()));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      SG_RETURN_IF_ERROR(ExpandTree(node[i], env, path + "[" + std::to_string(i) + "]"));
    }
  }
  return OkStatus();
}

// SMIMEGATE__A__B=value sets a.b; numeric parts index lists.
Status ApplyOverrides(YAML::Node& root, char** env) {
  static constexpr std::string_view kPrefix = "SMIMEGATE__";
  for (char** e = env; e && *e; ++e) {
    std::string kv(*e);
    if (kv.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(kPrefix.size(), eq - kPrefix.size());
    std::string value = kv.substr(eq + 1);
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      size_t p = key.find("__", start);
      parts.push_back(AsciiLower(key.substr(start, p - start)));
      if (p == std::string::npos) break;
      start = p + 2;
    }
    if (parts.empty() || std::any_of(parts.begin(), parts.end(),
                                     [](const std::string& s) { return s.empty(); })) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "environment override " + kv.substr(0, eq) + ": empty key part");
    }
    // yaml-cpp's operator[] on non-const nodes creates maps as needed; walk
    // by reset() to avoid aliasing the parent.
    YAML::Node cur;
    cur.reset(root);
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& part = parts[i];
      bool last = i + 1 == parts.size();
      bool numeric = std::all_of(part.begin(), part.end(), ::isdigit);
      YAML::Node next;
      if (numeric && cur.IsSequence()) {
        size_t idx = std::stoul(part);
        if (idx >= cur.size()) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "environment override " + kv.substr(0, eq) + ": list index " + part +
                               " is out of range");
        }
        next.reset(cur[idx]);
      } else {
        if (!cur.IsMap() && !cur.IsNull() && cur.IsDefined()) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "environment override " + kv.substr(0, eq) + ": " + part +
                               " is inside a value that is not a map");
        }
        next.reset(cur[part]);
      }
      if (last) {
        next = value;
      } else {
        cur.reset(next);
      }
    }
  }
  return OkStatus();
}

Result<std::shared_ptr<ParseState>> Finish(YAML::Node root, const std::string& name, char** env,
                              std::shared_ptr<ParseState> state) {
  if (env == nullptr) env = environ;
  if (root.IsNull() || !root.IsDefined()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + name + ": the top level must be a map of sections");
  }
  SG_RETURN_IF_ERROR(ExpandTree(root, env, ""));
  SG_RETURN_IF_ERROR(ApplyOverrides(root, env));
  state->source = name;
  state->root = root;
  return state;
}

}  // namespace

ConfigNode::ConfigNode(std::shared_ptr<ParseState> state, YAML::Node node, std::string path)
    : state_(std::move(state)), node_(std::move(node)), path_(std::move(path)) {}

std::string ConfigNode::PathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

Error ConfigNode::ErrorAt(const std::string& key, const std::string& what) const {
  // Copy-construct: assigning a missing (zombie) yaml-cpp node throws.
  const YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  std::string line = LineOf(n);
  if (line.empty()) line = LineOf(node_);
  return MakeError(ErrorCode::kInvalidArgument, "config " + PathOf(key) + line + ": " + what);
}

Error ConfigNode::ErrorHere(const std::string& what) const {
  return MakeError(ErrorCode::kInvalidArgument,
                   "config " + (path_.empty() ? std::string("(top level)") : path_) +
                       LineOf(node_) + ": " + what);
}

void ConfigNode::MarkSeen(const std::string& key) const { state_->seen.insert(PathOf(key)); }

namespace {

thread_local ConfigRecorder* current_recorder = nullptr;

// Records what `node` read at `key` for `config show`, when a recorder runs.
void Record(const ConfigNode& node, const std::string& key, const std::string& value,
            const std::optional<std::string>& def, bool set) {
  if (auto* r = ConfigRecorder::Current()) r->Add({node.PathOf(key), value, def, set});
}

}  // namespace

ConfigRecorder::ConfigRecorder() : previous_(current_recorder) { current_recorder = this; }

ConfigRecorder::~ConfigRecorder() { current_recorder = previous_; }

ConfigRecorder* ConfigRecorder::Current() { return current_recorder; }

void ConfigRecorder::Add(ConfigEntry e) {
  auto [it, added] = index_.emplace(e.path, entries_.size());
  if (added) {
    entries_.push_back(std::move(e));
  } else {
    entries_[it->second] = std::move(e);
  }
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  static constexpr std::array<Unit, 4> kUnits{{{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}}};
  if (ms == 0) return "0s";
  for (const auto& u : kUnits) {
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}

std::string FormatSize(uint64_t bytes) {
  struct Unit {
    uint64_t bytes;
    const char* suffix;
  };
  static constexpr std::array<Unit, 3> kUnits{{{1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}}};
  for (const auto& u : kUnits) {
    if (bytes != 0 && bytes % u.bytes == 0) return std::to_string(bytes / u.bytes) + u.suffix;
  }
  return std::to_string(bytes);
}

bool ConfigNode::Has(const std::string& key) const {
  MarkSeen(key);
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

Result<YAML::Node> ConfigNode::Scalar(const std::string& key) const {
  MarkSeen(key);
  YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  if (!n.IsDefined() || n.IsNull()) return MakeError(ErrorCode::kNotFound, "");
  if (!n.IsScalar()) return ErrorAt(key, "expected a single value, got a list or map");
  return n;
}

// A scalar that is absent yields its default, or "required" without one;
// any other lookup error (a list where a value belongs) passes through.
template <typename T>
Result<T> ConfigNode::MissingOr(const std::string& key, const Error& lookup,
                                const std::optional<T>& def) const {
  if (lookup.code != ErrorCode::kNotFound) return lookup;
  if (def) return *def;
  return ErrorAt(key, "required key is missing");
}

Result<std::string> ConfigNode::String(const std::string& key,
                                       std::optional<std::string> def) const {
  auto n = Scalar(key);
  if (!n.ok()) {
    if (n.error().code == ErrorCode::kNotFound && def) Record(*this, key, *def, def, false);
    return MissingOr(key, n.error(), def);
  }
  Record(*this, key, n->Scalar(), def, true);
  return n->Scalar();
}

Result<int64_t> ConfigNode::Int(const std::string& key, std::optional<int64_t> def, int64_t min,
                                int64_t max) const {
  std::optional<std::string> def_text;
  if (def) def_text = std::to_string(*def);
  auto n = Scalar(key);
  if (!n.ok()) {
    if (n.error().code == ErrorCode::kNotFound && def) Record(*this, key, *def_text, def_text, false);
    return MissingOr(key, n.error(), def);
  }
  const std::string& s = n->Scalar();
  Record(*this, key, s, def_text, true);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min || v > max) {
    return ErrorAt(key, "expected an integer from " + std::to_string(min) + " to " +
                            std::to_string(max) + ", got \"" + s + "\"");
  }
  return v;
}

Result<bool> ConfigNode::Bool(const std::string& key, std::optional<bool> def) const {
  std::optional<std::string> def_text;
  if (def) def_text = *def ? "true" : "false";
  auto n = Scalar(key);
  if (!n.ok()) {
    if (n.error().code == ErrorCode::kNotFound && def) Record(*this, key, *def_text, def_text, false);
    return MissingOr(key, n.error(), def);
  }
  Record(*this, key, n->Scalar(), def_text, true);
  std::string s = AsciiLower(n->Scalar());
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return ErrorAt(key, "expected true or false, got \"" + n->Scalar() + "\"");
}

Result<std::chrono::milliseconds> ConfigNode::Duration(
    const std::string& key, std::optional<std::chrono::milliseconds> def) const {
  std::optional<std::string> def_text;
  if (def) def_text = FormatDuration(*def);
  auto n = Scalar(key);
  if (!n.ok()) {
    if (n.error().code == ErrorCode::kNotFound && def) Record(*this, key, *def_text, def_text, false);
    return MissingOr(key, n.error(), def);
  }
  Record(*this, key, n->Scalar(), def_text, true);
  auto d = ParseDuration(n->Scalar());
  if (!d.ok()) return ErrorAt(key, d.error().message);
  return *d;
}

Result<std::chrono::milliseconds> ParseDuration(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  std::string unit(p, s.data() + s.size());
  int64_t mult = 0;
  if (unit.empty() || unit == "s") mult = 1000;
  else if (unit == "ms") mult = 1;
  else if (unit == "m") mult = 60'000;
  else if (unit == "h") mult = 3'600'000;
  else if (unit == "d") mult = 86'400'000;
  if (ec != std::errc() || p == s.data() || mult == 0 || v < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected a duration such as 250ms, 30s, 5m, 2h or 7d, got \"" + s + "\"");
  }
  // Anything beyond about a hundred years is a typo, and v * mult must not overflow.
  constexpr int64_t kMaxMs = int64_t{100} * 366 * 86'400'000;
  if (v > kMaxMs / mult) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "duration \"" + s + "\" is too long (at most 100 years)");
  }
  return std::chrono::milliseconds(v * mult);
}

Result<uint64_t> ConfigNode::Size(const std::string& key, std::optional<uint64_t> def) const {
  std::optional<std::string> def_text;
  if (def) def_text = FormatSize(*def);
  auto n = Scalar(key);
  if (!n.ok()) {
    if (n.error().code == ErrorCode::kNotFound && def) Record(*this, key, *def_text, def_text, false);
    return MissingOr(key, n.error(), def);
  }
  const std::string& s = n->Scalar();
  Record(*this, key, s, def_text, true);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  std::string unit = AsciiLower(std::string(p, s.data() + s.size()));
  uint64_t mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1024 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1024ull * 1024 * 1024;
  if (ec != std::errc() || p == s.data() || mult == 0) {
    return ErrorAt(key, "expected a size such as 1048576, 512KB or 50MB, got \"" + s + "\"");
  }
  if (v > std::numeric_limits<uint64_t>::max() / mult) {
    return ErrorAt(key, "size \"" + s + "\" is too large");
  }
  return v * mult;
}

Result<std::string> ConfigNode::Enum(const std::string& key,
                                     const std::vector<std::string>& allowed,
                                     std::optional<std::string> def) const {
  SG_ASSIGN_OR_RETURN(std::string v, String(key, std::move(def)));
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return ErrorAt(key, "expected one of " + list + ", got \"" + v + "\"");
}

Result<std::vector<std::string>> ConfigNode::StringList(const std::string& key) const {
  MarkSeen(key);
  std::vector<std::string> out;
  YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  if (!n.IsDefined() || n.IsNull()) {
    Record(*this, key, "[]", "[]", false);
    return out;
  }
  if (!n.IsSequence()) return ErrorAt(key, "expected a list of values");
  std::string shown;
  for (size_t i = 0; i < n.size(); ++i) {
    state_->seen.insert(PathOf(key) + "[" + std::to_string(i) + "]");
    if (!n[i].IsScalar()) {
      return ErrorAt(key, "item " + std::to_string(i) + " must be a single value");
    }
    out.push_back(n[i].Scalar());
    shown += (i == 0 ? "" : ", ") + n[i].Scalar();
  }
  Record(*this, key, "[" + shown + "]", "[]", true);
  return out;
}

Result<std::map<std::string, std::string>> ConfigNode::StringMap(const std::string& key) const {
  MarkSeen(key);
  std::map<std::string, std::string> out;
  YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  if (!n.IsDefined() || n.IsNull()) {
    Record(*this, key, "{}", "{}", false);
    return out;
  }
  if (!n.IsMap()) return ErrorAt(key, "expected a map of names to values");
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string k = it->first.Scalar();
    state_->seen.insert(PathOf(key) + "." + k);
    if (!it->second.IsScalar()) {
      return MakeError(ErrorCode::kInvalidArgument, "config " + PathOf(key) + "." + k +
                                                        LineOf(it->second) +
                                                        ": expected a single value");
    }
    out[k] = it->second.Scalar();
    std::string sub_key = key;
    sub_key += '.';
    sub_key += k;
    Record(*this, sub_key, it->second.Scalar(), std::nullopt, true);
  }
  return out;
}

std::vector<std::string> ConfigNode::Keys() const {
  std::vector<std::string> out;
  if (!node_.IsMap()) return out;
  for (auto it = node_.begin(); it != node_.end(); ++it) out.push_back(it->first.Scalar());
  return out;
}

Result<ConfigNode> ConfigNode::Map(const std::string& key) const {
  MarkSeen(key);
  YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  if (!n.IsDefined() || n.IsNull()) {
    return ConfigNode(state_, YAML::Node(YAML::NodeType::Map), PathOf(key));
  }
  if (!n.IsMap()) return ErrorAt(key, "expected a map of keys");
  return ConfigNode(state_, n, PathOf(key));
}

Result<std::vector<ConfigNode>> ConfigNode::List(const std::string& key) const {
  MarkSeen(key);
  std::vector<ConfigNode> out;
  YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) return ErrorAt(key, "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    std::string p = PathOf(key) + "[" + std::to_string(i) + "]";
    state_->seen.insert(p);
    if (!n[i].IsMap()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "config " + p + LineOf(n[i]) + ": expected a map of keys");
    }
    out.emplace_back(state_, n[i], p);
  }
  return out;
}

Result<ConfigDocument> ConfigDocument::LoadString(const std::string& yaml, const std::string& name,
                                                  char** environ_vars) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + name + " (line " + std::to_string(e.mark.line + 1) +
                         "): not valid YAML: " + e.msg);
  }
  SG_ASSIGN_OR_RETURN(auto state, Finish(root, name, environ_vars,
                                         std::make_shared<ParseState>()));
  return ConfigDocument(std::move(state));
}

Result<ConfigDocument> ConfigDocument::LoadFile(const std::string& file, char** environ_vars) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kNotFound,
                     "config file " + file + " not found or not readable (create it, or pass "
                     "--config)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadString(ss.str(), file, environ_vars);
}

ConfigNode ConfigDocument::Root() const { return ConfigNode(state_, state_->root, ""); }

const std::string& ConfigDocument::source() const { return state_->source; }


namespace {
Status CheckUnknown(const ParseState& st, const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      std::string p = path.empty() ? key : path + "." + key;
      if (!st.seen.count(p)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "config " + p + LineOf(it->first) + ": unknown key (check the spelling;"
                         " docs/configuration.md lists every key)");
      }
      SG_RETURN_IF_ERROR(CheckUnknown(st, it->second, p));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      if (st.seen.count(p)) SG_RETURN_IF_ERROR(CheckUnknown(st, node[i], p));
    }
  }
  return OkStatus();
}
}  // namespace

Status ConfigDocument::CheckNoUnknownKeys() const {
  return CheckUnknown(*state_, state_->root, "");
}

}  // namespace sg::config
