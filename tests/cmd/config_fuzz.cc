// Fuzz target for the configuration parser: yaml-cpp, ${VAR} expansion,
// SMIMEGATE__ overrides and every stage's section (cmd/smimegate/app_config.h).
//
// Input: a smimegate.yaml. It is parsed as /nonexistent-fuzz/smimegate.yaml,
// so relative paths point nowhere; inputs naming device or kernel files
// (/dev/, /proc/, /sys/) are skipped, since reading /dev/zero as a trust
// anchor file would hang the harness, not the product's parser.
// Properties beyond "no crash":
//   - no exception escapes (yaml-cpp throws; the parser must turn every
//     throw into an error);
//   - every error names the key ("config <path> (line N): ..."), the
//     environment variable that overrides it, or, for a file the
//     configuration points to, the section and the file ("smime ...");
//   - a configuration that parses once parses again to the same result.
#include <cstdint>
#include <string>

#include "cmd/smimegate/app_config.h"
#include "common/config_node.h"
#include "tests/support/fuzz_check.h"

namespace {

constexpr const char* kConfigFile = "/nonexistent-fuzz/smimegate.yaml";

char** Environment() {
  static char mx[] = "SMIMEGATE_MX_PORT=2525";
  static char home[] = "HOME=/nonexistent-fuzz";
  static char level[] = "SMIMEGATE__LOG__LEVEL=debug";
  static char* env[] = {mx, home, level, nullptr};
  return env;
}

sg::Result<sg::app::AppConfig> Parse(const std::string& yaml) {
  SG_ASSIGN_OR_RETURN(auto doc,
                      sg::config::ConfigDocument::LoadString(yaml, kConfigFile, Environment()));
  return sg::app::ParseAppConfig(doc, kConfigFile);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml(reinterpret_cast<const char*>(data), size);
  for (const char* dir : {"/dev/", "/proc/", "/sys/"}) {
    if (yaml.find(dir) != std::string::npos) return 0;
  }
  auto c = Parse(yaml);
  if (!c.ok()) {
    const std::string& m = c.error().message;
    SG_FUZZ_CHECK(m.rfind("config ", 0) == 0 || m.rfind("smime ", 0) == 0 ||
                  m.rfind("environment override SMIMEGATE__", 0) == 0);
    return 0;
  }
  auto again = Parse(yaml);
  SG_FUZZ_CHECK(again.ok());
  SG_FUZZ_CHECK(again->hosted_domains == c->hosted_domains);
  SG_FUZZ_CHECK(again->data_dir == c->data_dir);
  return 0;
}
