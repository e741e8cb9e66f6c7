#include "common/cpu_quota.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace sg {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// cgroup v2 cpu.max: "max 100000" (no limit) or "150000 100000".
std::optional<double> V2Limit(const std::string& dir) {
  auto text = ReadFile(dir + "/cpu.max");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    const double q = std::stod(quota);
    return q > 0 ? std::optional<double>(q / period) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// cgroup v1: cpu.cfs_quota_us (-1: no limit) over cpu.cfs_period_us.
std::optional<double> V1Limit(const std::string& dir) {
  auto quota = ReadFile(dir + "/cpu.cfs_quota_us");
  auto period = ReadFile(dir + "/cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  try {
    const double q = std::stod(*quota);
    const double p = std::stod(*period);
    return q > 0 && p > 0 ? std::optional<double>(q / p) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The lowest limit on `path` and its ancestors under `base`.
template <typename Read>
std::optional<double> LowestUpTheTree(const std::string& base, std::string path, Read read) {
  std::optional<double> lowest;
  while (true) {
    if (auto l = read(base + path); l && (!lowest || *l < *lowest)) lowest = l;
    if (path.empty() || path == "/") break;
    const size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return lowest;
}

}  // namespace

std::optional<double> CgroupCpuLimit(const std::string& proc_self_cgroup,
                                     const std::string& cgroup_root) {
  // A hybrid host (systemd's default before v2 only) lists both the v1 "cpu"
  // hierarchy and the v2 "0::" line, in either order; the v2 tree may have no
  // cpu controller at all. Both are read and the lower limit wins.
  std::optional<double> lowest;
  const auto keep = [&lowest](std::optional<double> l) {
    if (l && (!lowest || *l < *lowest)) lowest = l;
  };
  std::istringstream lines(proc_self_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    // "hierarchy-id:controllers:path"
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      keep(LowestUpTheTree(cgroup_root, path, V2Limit));
      continue;
    }
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name == "cpu") {
        std::string base = cgroup_root;
        base += '/';
        base += controllers;
        keep(LowestUpTheTree(base, path, V1Limit));
      }
    }
  }
  return lowest;
}

unsigned CpusWithin(unsigned cpus, std::optional<double> limit) {
  unsigned n = std::max(1u, cpus);
  if (limit) n = std::min(n, static_cast<unsigned>(std::max(1.0, std::ceil(*limit - 1e-9))));
  return n;
}

unsigned AvailableCpus() {
  static const unsigned cpus = [] {
    unsigned n = std::thread::hardware_concurrency();
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) n = static_cast<unsigned>(CPU_COUNT(&set));
    const auto self = ReadFile("/proc/self/cgroup");
    return CpusWithin(n, self ? CgroupCpuLimit(*self, "/sys/fs/cgroup") : std::nullopt);
  }();
  return cpus;
}

}  // namespace sg
