// TestAddressProcessor: the gateway's test address (issue 24), in front of
// the policy. A MessageProcessor that wraps another (the PolicyProcessor).
//
// A message with the test address (workers.test_address.address) among its
// recipients, in either direction (relay clients test outbound, internet
// peers test inbound), is split:
//   - the other recipients go to the wrapped processor as usual;
//   - the test address is never delivered to. Unless the message is from
//     the null sender, automatic, or a loop (policy_test_address_screen.h),
//     or its sender is over the rate limit (per sender and per process,
//     common/keyed_rate_limit.h), the wrapped processor runs on a copy with
//     the test address as the only recipient (a dry run: the real rules,
//     keys and crypto, for a recipient at the test address), its outputs
//     are read and dropped, and one report goes to the envelope sender
//     (policy_test_address_report.h) on the deliver topic, as DSNs do.
// A message not answered is consumed (logged and counted, by reason): the
// test address is a virtual mailbox, nothing is kept for it.
//
// The report is not signed: the gateway has no identity of its own to sign
// with, and a DSN is not signed either (docs/setup/README.md).
//
// Errors: a transient error of the dry run or of the other recipients is
// returned (the pool retries the whole record; egress suppresses duplicate
// deliveries and the report by message id); a permanent error of the dry
// run becomes the report's outcome ("would be kept for the administrator").
// A dry run the CA makes wait (set aside) is returned set aside, with the
// test address alone: it is answered when it comes back.
//
// Threading: Process() is called concurrently; the rate limiters are
// guarded by a mutex. The wrapped processor is owned; keys, registry and
// clock are borrowed and must outlive this.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "keyservice/key_service.h"
#include "workers/message_processor.h"
#include "workers/policy/policy_test_address_config.h"
#include "workers/policy/policy_test_address_metrics.h"
#include "workers/policy/policy_test_address_report.h"

namespace sg::workers {

class TestAddressProcessor : public MessageProcessor {
 public:
  TestAddressProcessor(TestAddressConfig config, std::string reporting_mta,
                       std::unique_ptr<MessageProcessor> inner, keyservice::KeyService& keys,
                       metrics::Registry& registry, const Clock& clock = SystemClock::Instance());

  Result<std::vector<smimegate::v1::MessageRecord>> Process(
      smimegate::v1::MessageRecord record) override;

 private:
  // The answer for |test| (the message with the test address alone): a
  // report, nothing (not answered), or |test| set aside.
  Result<std::vector<smimegate::v1::MessageRecord>> Answer(
      const smimegate::v1::MessageRecord& test);
  // Takes one report from the sender's and the process's allowance.
  bool TakeToken(const std::string& sender);
  // What the dry run's outputs say about the test address.
  void ReadDryRun(const std::vector<smimegate::v1::MessageRecord>& outputs,
                  TestReportFacts& facts) const;
  void FindTenant(const smimegate::v1::Envelope& env, TestReportFacts& facts);

  TestAddressConfig config_;
  std::string reporting_mta_;
  std::unique_ptr<MessageProcessor> inner_;
  keyservice::KeyService& keys_;
  TestAddressMetrics metrics_;
  const Clock& clock_;
  std::mutex mu_;
  KeyedRateLimiter per_sender_;  // guarded by mu_
  KeyedRateLimiter total_;       // guarded by mu_
};

}  // namespace sg::workers
