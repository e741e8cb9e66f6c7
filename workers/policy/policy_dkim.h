// OutboundDkim: the last step of an outbound message (docs/dkim.md): after
// the policy built its delivery forms (signed, encrypted, tags removed ...),
// each form for SMTP delivery gets a DKIM-Signature of its From domain's
// active key, when workers.policy.dkim.sign says so (modified forms by
// default; all; off). Portal forms are not delivered by SMTP: never signed.
//
// Never fails a message: a domain without an active key, a key that does
// not open at the keyservice or does not load, and a libopendkim failure
// all deliver the form without DKIM, counted (smimegate_dkim_messages_total)
// and, for the failures, logged with the domain and selector. A message
// without DKIM is what a receiver got before this feature; holding mail
// because of a signing-key problem would turn a key mistake into an outage.
//
// Threading: Apply is called concurrently by the worker threads; the key
// service is thread-safe, the signer shared (dkim_signer.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "keyservice/key_service.h"
#include "proto/envelope.pb.h"
#include "workers/dkim/dkim_decision.h"
#include "workers/dkim/dkim_metrics.h"
#include "workers/dkim/dkim_signer.h"

namespace sg::workers {

class OutboundDkim {
 public:
  // `keys` is borrowed and outlives this.
  OutboundDkim(dkim::DkimSignMode mode, keyservice::KeyService& keys, metrics::Registry& registry);

  // Signs the forms of `outputs` that the decision selects; `original` is
  // the message as received (a form with other bytes was modified).
  void Apply(const std::string& original, std::vector<smimegate::v1::MessageRecord>& outputs);

 private:
  void SignOne(const std::string& original, smimegate::v1::MessageRecord& out);

  dkim::DkimSignMode mode_;
  keyservice::KeyService& keys_;
  dkim::DkimMetrics metrics_;
  std::unique_ptr<dkim::DkimSigner> signer_;  // null: libopendkim did not initialise
};

}  // namespace sg::workers
