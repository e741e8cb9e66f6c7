#include "ingress/ingress_metrics.h"

namespace sg::ingress {

IngressMetrics::IngressMetrics(metrics::Registry& r)
    : connections_(r.AddCounter("smimegate_ingress_connections_total",
                                "SMTP connections accepted", {"listener"})),
      active_(r.AddGauge("smimegate_ingress_connections_active", "SMTP connections open now",
                         {"listener"})),
      connections_rejected_(r.AddCounter("smimegate_ingress_connections_rejected_total",
                                         "SMTP connections refused at connect",
                                         {"listener", "reason"})),
      tls_(r.AddCounter("smimegate_ingress_tls_handshakes_total", "STARTTLS handshakes",
                        {"listener", "result"})),
      accepted_(r.AddCounter("smimegate_ingress_messages_accepted_total",
                             "Messages durably queued and answered 250",
                             {"listener", "direction"})),
      rejected_(r.AddCounter("smimegate_ingress_messages_rejected_total",
                             "Envelopes or messages refused, by reason", {"listener", "reason"})),
      bytes_(r.AddCounter("smimegate_ingress_received_bytes_total",
                          "Message bytes accepted", {"listener"})),
      ack_seconds_(r.AddHistogram("smimegate_ingress_durable_ack_seconds",
                                  "Time from end of data to the queue's durable ack",
                                  {"listener"}, metrics::LatencyBuckets())),
      auth_(r.AddCounter("smimegate_ingress_auth_total", "SMTP AUTH attempts",
                         {"listener", "result"})),
      protocol_errors_(r.AddCounter("smimegate_ingress_protocol_errors_total",
                                    "Malformed or out-of-sequence commands",
                                    {"listener", "kind"})),
      bytes_in_flight_(r.AddGauge("smimegate_ingress_bytes_in_flight",
                                  "Message bytes held by the ingress now (being received or "
                                  "waiting for the queue's ack); capped by "
                                  "ingress.max_bytes_in_flight",
                                  {})),
      recipient_lookups_(r.AddCounter("smimegate_ingress_recipient_lookups_total",
                                      "Answers of recipient verification sources",
                                      {"source", "result"})),
      recipient_checks_(r.AddCounter("smimegate_ingress_recipient_checks_total",
                                     "Recipients of verified domains, by verdict",
                                     {"listener", "result", "cached"})),
      proxy_protocol_(r.AddCounter("smimegate_ingress_proxy_protocol_total",
                                   "PROXY protocol v2 headers: accepted, local, or why the "
                                   "connection was closed",
                                   {"listener", "result"})) {}

void IngressMetrics::RecipientLookup(const std::string& source, const std::string& result) {
  recipient_lookups_.WithLabels({source, result}).Inc();
}

void IngressMetrics::RecipientChecked(const std::string& listener, const std::string& result,
                                      bool cached) {
  recipient_checks_.WithLabels({listener, result, cached ? "true" : "false"}).Inc();
}

void IngressMetrics::ConnectionOpened(const std::string& listener) {
  connections_.WithLabels({listener}).Inc();
  active_.WithLabels({listener}).Inc();
}

void IngressMetrics::ConnectionClosed(const std::string& listener) {
  active_.WithLabels({listener}).Dec();
}

void IngressMetrics::ConnectionRejected(const std::string& listener, const std::string& reason) {
  connections_rejected_.WithLabels({listener, reason}).Inc();
}

void IngressMetrics::TlsHandshake(const std::string& listener, const std::string& result) {
  tls_.WithLabels({listener, result}).Inc();
}

void IngressMetrics::MessageAccepted(const std::string& listener, const std::string& direction,
                                     uint64_t bytes, double ack_seconds) {
  accepted_.WithLabels({listener, direction}).Inc();
  bytes_.WithLabels({listener}).Inc(static_cast<double>(bytes));
  ack_seconds_.WithLabels({listener}).Observe(ack_seconds);
}

void IngressMetrics::MessageRejected(const std::string& listener, const std::string& reason) {
  rejected_.WithLabels({listener, reason}).Inc();
}

void IngressMetrics::Auth(const std::string& listener, const std::string& result) {
  auth_.WithLabels({listener, result}).Inc();
}

void IngressMetrics::ProxyProtocol(const std::string& listener, const std::string& result) {
  proxy_protocol_.WithLabels({listener, result}).Inc();
}

void IngressMetrics::ProtocolError(const std::string& listener, const std::string& kind) {
  protocol_errors_.WithLabels({listener, kind}).Inc();
}

}  // namespace sg::ingress
