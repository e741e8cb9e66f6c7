#include "common/kafka_member_id.h"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "common/host_name.h"

namespace sg::queue {

std::string SanitizeGroupInstanceName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

Result<std::string> StaticMemberName(std::string_view pod_env, std::string_view host_name) {
  std::string_view name = !pod_env.empty() ? pod_env : host_name;
  if (name.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config queue.kafka.static_membership: this process has no name for its "
                     "group.instance.id (SMIMEGATE_POD_NAME is not set and the host name is "
                     "empty); fix: set SMIMEGATE_POD_NAME (Kubernetes: from the pod's "
                     "metadata.name), or set static_membership: false");
  }
  return SanitizeGroupInstanceName(name);
}

Result<std::string> LocalStaticMemberName() {
  const char* pod = std::getenv("SMIMEGATE_POD_NAME");
  return StaticMemberName(pod != nullptr ? pod : "", HostName(""));
}

std::string GroupInstanceId(std::string_view name, std::string_view group, int index) {
  const std::string suffix = "-" + std::to_string(index);
  std::string head = SanitizeGroupInstanceName(std::string(name) + "-" + std::string(group));
  if (head.size() + suffix.size() > kMaxGroupInstanceIdLength) {
    head.resize(kMaxGroupInstanceIdLength - suffix.size());
  }
  return head + suffix;
}

Result<std::string> GroupInstanceIds::Next(const std::string& group) {
  const int index = next_index_[group]++;
  std::string id = GroupInstanceId(name_, group, index);
  auto [it, inserted] = issued_.emplace(id, group);
  if (!inserted) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config queue.kafka.static_membership: consumer groups " + it->second +
                         " and " + group + " would both get group.instance.id " + id +
                         " (their names are the same once shortened to 249 characters of "
                         "[A-Za-z0-9._-]); fix: give the groups names that differ in those "
                         "characters, or set static_membership: false");
  }
  return id;
}

}  // namespace sg::queue
