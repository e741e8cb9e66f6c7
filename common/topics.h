// Names of the queue topics between the stages (DESIGN.md "Pipeline").
// The configured queue.topic_prefix is prepended to each ("smimegate." by
// default in the Kafka mode, empty in the embedded mode).
#pragma once

#include <string>
#include <string_view>

namespace sg::topics {

inline constexpr std::string_view kInbound = "inbound";      // ingress MX -> workers
inline constexpr std::string_view kOutbound = "outbound";    // ingress relay -> workers
inline constexpr std::string_view kDeliver = "deliver";      // workers -> egress
inline constexpr std::string_view kRetry = "retry";          // egress -> egress, scheduled
inline constexpr std::string_view kDeadLetter = "deadletter";  // kept with a reason for the admin
inline constexpr std::string_view kPortal = "portal";        // workers -> portal (web encryption)
// portal -> workers: a reader's reply. The workers treat every record on it
// as ORIGIN_PORTAL, whatever the record says (the origin is bound to the
// producer's topic, which Kafka ACLs bind to the portal's principal).
inline constexpr std::string_view kPortalReply = "portal-reply";

inline std::string Name(std::string_view prefix, std::string_view topic) {
  std::string out(prefix);
  out += topic;
  return out;
}

}  // namespace sg::topics
