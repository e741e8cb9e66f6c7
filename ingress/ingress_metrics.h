// Prometheus metrics of the SMTP ingress (one instance per server, shared by
// all loops). Names are documented in docs/configuration.md.
//
// Threading: thread-safe (the registry's children are atomics).
#pragma once

#include <string>

#include "common/metrics.h"

namespace sg::ingress {

class IngressMetrics {
 public:
  explicit IngressMetrics(metrics::Registry& registry);

  void ConnectionOpened(const std::string& listener);
  void ConnectionClosed(const std::string& listener);
  // reason: too_many_connections, too_many_from_ip, shutting_down, ...
  void ConnectionRejected(const std::string& listener, const std::string& reason);
  // result: ok | failed | timeout
  void TlsHandshake(const std::string& listener, const std::string& result);
  void MessageAccepted(const std::string& listener, const std::string& direction,
                       uint64_t bytes, double ack_seconds);
  // reason: relay_denied, sender_not_hosted, recipient_not_hosted, size,
  // too_many_recipients, bare_line_ending, line_too_long, queue_unavailable,
  // queue_timeout, tls_required, smtputf8_required, ...
  void MessageRejected(const std::string& listener, const std::string& reason);
  // result: ok | failed | locked | busy | unavailable
  void Auth(const std::string& listener, const std::string& result);
  void ProtocolError(const std::string& listener, const std::string& kind);
  // A PROXY protocol v2 header: "accepted", "local", or why the connection
  // was closed ("untrusted_source", "timeout", "bad_signature", ...).
  void ProxyProtocol(const std::string& listener, const std::string& result);
  // One answer of a recipient source (ingress_recipient_verifier.h).
  void RecipientLookup(const std::string& source, const std::string& result);
  // The verdict on one RCPT of a verified domain: known, unknown,
  // unavailable, rate_limited; `cached` when it came from the cache.
  void RecipientChecked(const std::string& listener, const std::string& result, bool cached);
  // Message bytes held now (ingress_byte_budget.h).
  metrics::Gauge& BytesInFlight() { return bytes_in_flight_.Get(); }

 private:
  metrics::Family<metrics::Counter>& connections_;
  metrics::Family<metrics::Gauge>& active_;
  metrics::Family<metrics::Counter>& connections_rejected_;
  metrics::Family<metrics::Counter>& tls_;
  metrics::Family<metrics::Counter>& accepted_;
  metrics::Family<metrics::Counter>& rejected_;
  metrics::Family<metrics::Counter>& bytes_;
  metrics::Family<metrics::Histogram>& ack_seconds_;
  metrics::Family<metrics::Counter>& auth_;
  metrics::Family<metrics::Counter>& protocol_errors_;
  metrics::Family<metrics::Gauge>& bytes_in_flight_;
  metrics::Family<metrics::Counter>& recipient_lookups_;
  metrics::Family<metrics::Counter>& recipient_checks_;
  metrics::Family<metrics::Counter>& proxy_protocol_;
};

}  // namespace sg::ingress
