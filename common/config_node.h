// Typed, validating access to the YAML configuration (yaml-cpp).
//
// Each stage parses its own section from a ConfigNode (for example
// ingress/ingress_config.cc); cmd/ composes the sections. Every error names
// the key path and the line, and start-up stops with exit code 2:
//   config ingress.listeners[1].port (line 14): expected an integer from 1 to 65535, got "abc"
//
// Unknown keys are errors: every access records the path it read, and
// ConfigDocument::CheckNoUnknownKeys() reports any key nobody read.
//
// Values may reference the environment: "${SMIMEGATE_MX_PORT:-2525}" is the
// variable's value, or 2525 when it is unset or empty. Environment variables
// named SMIMEGATE__<PATH> override single keys, the path's parts joined by
// "__" (SMIMEGATE__QUEUE__KAFKA__BROKERS=host:9092 sets queue.kafka.brokers;
// a number indexes a list). They are applied before parsing, so they are
// validated like the file.
//
// Threading: not thread-safe; parse once at start-up.
#pragma once

#include <chrono>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/result.h"

namespace sg::config {

struct ParseState;  // shared by all nodes of one document

class ConfigNode {
 public:
  ConfigNode(std::shared_ptr<ParseState> state, YAML::Node node, std::string path);

  // "ingress.listeners[1]"; empty for the root.
  const std::string& path() const { return path_; }
  // "ingress.listeners[1].port"
  std::string PathOf(const std::string& key) const;
  // An error message prefixed with the key path and its line.
  Error ErrorAt(const std::string& key, const std::string& what) const;
  // The same for this node itself.
  Error ErrorHere(const std::string& what) const;

  bool Has(const std::string& key) const;
  // The keys of this map in document order (e.g. domain names as keys).
  std::vector<std::string> Keys() const;

  // Scalars. With a default, a missing key yields the default; without one,
  // a missing key is an error ("required").
  Result<std::string> String(const std::string& key,
                             std::optional<std::string> def = std::nullopt) const;
  Result<int64_t> Int(const std::string& key, std::optional<int64_t> def, int64_t min,
                      int64_t max) const;
  Result<bool> Bool(const std::string& key, std::optional<bool> def = std::nullopt) const;
  // "250ms", "30s", "5m", "2h", "7d" (a bare number is seconds).
  Result<std::chrono::milliseconds> Duration(
      const std::string& key, std::optional<std::chrono::milliseconds> def = std::nullopt) const;
  // "50MB", "512KiB", "1024" (bytes). K/M/G are powers of 1024, as SMTP SIZE users expect.
  Result<uint64_t> Size(const std::string& key, std::optional<uint64_t> def = std::nullopt) const;
  // One of `allowed`.
  Result<std::string> Enum(const std::string& key, const std::vector<std::string>& allowed,
                           std::optional<std::string> def = std::nullopt) const;
  // A list of strings; a missing key yields an empty list.
  Result<std::vector<std::string>> StringList(const std::string& key) const;

  // A map of free-form string keys to values (e.g. librdkafka properties);
  // a missing key yields an empty map.
  Result<std::map<std::string, std::string>> StringMap(const std::string& key) const;

  // A nested map; a missing key yields an empty map node (all defaults).
  Result<ConfigNode> Map(const std::string& key) const;
  // A list of maps; a missing key yields an empty list.
  Result<std::vector<ConfigNode>> List(const std::string& key) const;

 private:
  Result<YAML::Node> Scalar(const std::string& key) const;
  template <typename T>
  Result<T> MissingOr(const std::string& key, const Error& lookup,
                      const std::optional<T>& def) const;
  void MarkSeen(const std::string& key) const;

  std::shared_ptr<ParseState> state_;
  YAML::Node node_;
  std::string path_;
};

// "250ms", "30s", "5m", "2h", "7d" (a bare number is seconds), as config
// values are written; also for command-line options.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

class ConfigDocument {
 public:
  // Reads and parses `file`; applies ${VAR} expansion and SMIMEGATE__ overrides
  // from `environ` (pass nullptr for the process environment).
  static Result<ConfigDocument> LoadFile(const std::string& file, char** environ_vars = nullptr);
  static Result<ConfigDocument> LoadString(const std::string& yaml, const std::string& name,
                                           char** environ_vars = nullptr);

  ConfigNode Root() const;
  // kInvalidArgument naming the first key that no parser read.
  Status CheckNoUnknownKeys() const;
  const std::string& source() const;

 private:
  explicit ConfigDocument(std::shared_ptr<ParseState> state) : state_(std::move(state)) {}
  std::shared_ptr<ParseState> state_;
};

}  // namespace sg::config
