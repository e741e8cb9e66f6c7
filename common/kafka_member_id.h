// Static group membership (Kafka KIP-345, `queue.kafka.static_membership`):
// the `group.instance.id` of each Kafka consumer of a process.
//
// Every consumer gets its own id, <pod>-<group>-<index>: <pod> names the
// process (SMIMEGATE_POD_NAME, set from the pod's metadata.name in the
// manifests, or else the host name), <group> is the consumer group and
// <index> counts the consumers of that group this process created, in
// creation order (the stages create theirs in a fixed order at start-up, so
// a restarted process gets the same ids back). Kafka allows [A-Za-z0-9._-]
// and at most 249 characters: anything else becomes '_', and a name too long
// is shortened in its <pod>-<group> part, never in its index.
//
// Ownership: value types. Threading: pure functions; a GroupInstanceIds is
// used under its owner's lock (common/kafka_queue.cc).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace sg::queue {

// Kafka's limit for a group.instance.id.
inline constexpr size_t kMaxGroupInstanceIdLength = 249;

// `name` with every byte outside [A-Za-z0-9._-] replaced by '_'.
std::string SanitizeGroupInstanceName(std::string_view name);

// The process's name for its ids: `pod_env` (SMIMEGATE_POD_NAME) when set
// and not empty, else `host_name`, sanitised. kInvalidArgument naming
// queue.kafka.static_membership and the fix when both are empty.
Result<std::string> StaticMemberName(std::string_view pod_env, std::string_view host_name);

// The same from this process's environment and host name.
Result<std::string> LocalStaticMemberName();

// <name>-<group>-<index>, sanitised, at most kMaxGroupInstanceIdLength long.
std::string GroupInstanceId(std::string_view name, std::string_view group, int index);

// Hands out the ids of one process's consumers: per group the next index,
// and never the same id twice (two groups whose names sanitise alike).
class GroupInstanceIds {
 public:
  explicit GroupInstanceIds(std::string name) : name_(std::move(name)) {}
  // The id of the next consumer of `group`; kInvalidArgument naming both
  // groups when it would repeat an id already handed out.
  Result<std::string> Next(const std::string& group);

 private:
  std::string name_;
  std::map<std::string, int> next_index_;      // by group
  std::map<std::string, std::string> issued_;  // id -> group
};

}  // namespace sg::queue
