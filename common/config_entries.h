// What the configuration parsers read, for `smimegate config show`
// (cmd/smimegate/config_show.h): while a ConfigRecorder is alive, every
// value a ConfigNode accessor reads on this thread is recorded with its
// effective value and its default.
//
// Threading: the recorder belongs to the thread that made it (parsing is
// single-threaded, common/config_node.h); it records only that thread's reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sg::config {

// One value a parser read: the effective value (as written in the file or
// the environment, else the default) and the default (nullopt: the key is
// required). Lists show as "[a, b]".
struct ConfigEntry {
  std::string path;                          // "ingress.listeners[0].port"
  std::string value;                         // effective
  std::optional<std::string> default_value;  // nullopt: required, no default
  bool set = false;                          // written in the file or environment
};

class ConfigRecorder {
 public:
  ConfigRecorder();   // starts recording on this thread
  ~ConfigRecorder();  // stops (a recorder made before it records again)
  ConfigRecorder(const ConfigRecorder&) = delete;
  ConfigRecorder& operator=(const ConfigRecorder&) = delete;

  // In the order the parsers read them; a key read twice appears once,
  // with the last reading.
  const std::vector<ConfigEntry>& entries() const { return entries_; }
  void Add(ConfigEntry e);

  // The recorder of this thread, or nullptr.
  static ConfigRecorder* Current();

 private:
  ConfigRecorder* previous_;
  std::vector<ConfigEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// Durations and sizes as a config file would write them: 20s, 5m, 50MiB.
std::string FormatDuration(std::chrono::milliseconds d);
std::string FormatSize(uint64_t bytes);

}  // namespace sg::config
