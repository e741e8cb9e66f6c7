#include "workers/policy/policy_test_address_config.h"

#include "common/mail/address.h"

namespace sg::workers {

Result<TestAddressConfig> ParseTestAddressConfig(const config::ConfigNode& section) {
  TestAddressConfig c;
  SG_ASSIGN_OR_RETURN(c.enabled, section.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(std::string address, section.String("address", ""));
  if (!address.empty()) {
    auto normalized = mail::NormalizeAddress(address);
    if (!normalized.ok() || normalized->find('@') == std::string::npos) {
      return section.ErrorAt(
          "address", "expected an address such as check@gw.example.com, got \"" + address + "\"");
    }
    c.address = std::move(*normalized);
  }
  if (c.enabled && c.address.empty()) {
    return section.ErrorAt("enabled",
                           "the test address is enabled but has no address; fix: set "
                           "workers.test_address.address (e.g. check@gw.example.com)");
  }
  SG_ASSIGN_OR_RETURN(auto limit, section.Map("rate_limit"));
  SG_ASSIGN_OR_RETURN(int64_t per_sender, limit.Int("per_sender", c.per_sender.max, 1, 10000));
  SG_ASSIGN_OR_RETURN(int64_t total, limit.Int("total", c.total.max, 1, 1000000));
  SG_ASSIGN_OR_RETURN(auto interval, limit.Duration("interval", c.per_sender.interval));
  if (interval < std::chrono::seconds(1)) {
    return limit.ErrorAt("interval", "must be at least 1s");
  }
  c.per_sender = {static_cast<int>(per_sender), interval};
  c.total = {static_cast<int>(total), interval};
  return c;
}

}  // namespace sg::workers
