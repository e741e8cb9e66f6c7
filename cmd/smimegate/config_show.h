// `smimegate config show [--defaults|--changed]`: the configuration as the
// parsers read it, one `key = value` line per key, in the order the sections
// are parsed (like postconf; --changed is postconf -n, --defaults postconf -d).
//
// Values are what the file says (after ${VAR} expansion and SMIMEGATE__
// overrides) or the default; secrets are never in the configuration itself,
// only the paths of their files and the names of their environment
// variables, which are shown (key and KEK contents never are).
//
// Threading: pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/config_entries.h"

namespace sg::app {

enum class ShowMode {
  kEffective,  // every key: its value from the file, else its default
  kDefaults,   // every key's default ("(required)" when it has none)
  kChanged,    // only keys set in the file or the environment
};

// The lines of `config show`, each ending in '\n'.
std::string FormatConfigEntries(const std::vector<config::ConfigEntry>& entries, ShowMode mode);

}  // namespace sg::app
