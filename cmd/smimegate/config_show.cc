#include "cmd/smimegate/config_show.h"

namespace sg::app {

std::string FormatConfigEntries(const std::vector<config::ConfigEntry>& entries, ShowMode mode) {
  std::string out;
  for (const auto& e : entries) {
    std::string value;
    switch (mode) {
      case ShowMode::kEffective:
        value = e.value;
        break;
      case ShowMode::kDefaults:
        value = e.default_value ? *e.default_value : "(required)";
        break;
      case ShowMode::kChanged:
        if (!e.set) continue;
        value = e.value;
        break;
    }
    out += e.path;
    out += value.empty() ? " =" : " = " + value;
    out += '\n';
  }
  return out;
}

}  // namespace sg::app
