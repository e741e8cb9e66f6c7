#include "tests/keyservice/dns_test_server.h"

#include <chrono>

#include "keyservice/key_service_impl.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice::testing {

Status ValidateDomainForTest(KeyServiceImpl& ks, DnsTestServer& dns, ::sg::testing::FakeClock& clock,
                             const std::string& domain) {
  SG_ASSIGN_OR_RETURN(Domain d, ks.ValidateDomain(domain));
  dns.SetRecords({d.record_name + " TXT " + d.record_value});
  clock.Advance(std::chrono::seconds(d.next_check_at - UnixSeconds(clock.Now())));
  auto checked = ks.CheckDomainValidations();
  if (!checked.ok()) return checked.error();
  SG_ASSIGN_OR_RETURN(auto domains, ks.ListDomains());
  for (const auto& each : domains) {
    if (each.name == d.name && each.validation_state == "valid") return OkStatus();
  }
  return MakeError(ErrorCode::kInternal, "domain " + domain + " did not become valid");
}

}  // namespace sg::keyservice::testing
