// How many CPUs this process may really use: the smaller of its CPU
// affinity (sched_getaffinity) and its cgroup CPU quota (cgroup v2 cpu.max,
// or v1 cpu.cfs_quota_us / cpu.cfs_period_us, the lowest along the path up to the
// root; on a hybrid host both, the lower), rounded up. In a Kubernetes pod with
// `limits.cpu: 2` on a 64-core node this is 2, where hardware_concurrency() says 64:
// the thread-count defaults (ingress event loops, worker threads, portal
// Argon2 slots) follow it.
//
// Threading: thread-safe (reads files). Errors: none; anything unreadable
// counts as "no limit" from that source, and the result is at least 1.
#pragma once

#include <optional>
#include <string>

namespace sg {

// The CPUs of the running process (computed once, then cached).
unsigned AvailableCpus();

// The cgroup CPU limit in CPUs (quota / period, not rounded), or nullopt when
// there is none. `proc_self_cgroup` is the text of /proc/self/cgroup;
// `cgroup_root` is where the hierarchy is mounted (/sys/fs/cgroup). Tests
// pass fake trees.
std::optional<double> CgroupCpuLimit(const std::string& proc_self_cgroup,
                                     const std::string& cgroup_root);

// Rounds a limit up to whole CPUs, at least 1, at most `cpus`.
unsigned CpusWithin(unsigned cpus, std::optional<double> limit);

}  // namespace sg
