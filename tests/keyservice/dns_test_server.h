// Domain-validation helpers over the local DNS server of the tests
// (tests/support/dns_test_server.h: dnslib on loopback).
//
// Threading: single-threaded test set-up.
#pragma once

#include <string>

#include "common/result.h"
#include "tests/support/dns_test_server.h"

namespace sg::keyservice::testing {
using DnsTestServer = ::sg::testing::DnsTestServer;
}  // namespace sg::keyservice::testing

namespace sg::testing {
class FakeClock;
}  // namespace sg::testing

namespace sg::keyservice {
class KeyServiceImpl;
namespace testing {

// Validates `domain` the way an operator does: `domain validate`, the TXT
// record published on `dns`, then the keyservice's check at the due time
// (`clock` advanced to it). Errors: the keyservice's, or kInternal when the
// domain did not become valid.
Status ValidateDomainForTest(KeyServiceImpl& ks, DnsTestServer& dns, ::sg::testing::FakeClock& clock,
                             const std::string& domain);

}  // namespace testing
}  // namespace sg::keyservice
