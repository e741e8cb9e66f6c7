"""CPU-limited cgroups for single processes (bench/e2e --scaling).

One CpuCgroup = one child cgroup with a CPU quota (e.g. 0.3 CPU) that one
process is started in: `preexec()` (a Popen preexec_fn) moves the child into
it before exec, so every thread it ever makes is limited and the process's
own cgroup files (/proc/self/cgroup) show the quota (smimegate's thread
defaults follow it, common/cpu_quota.h).

Both hierarchies are supported:
  * cgroup v1 with a writable cpu controller (cpu.cfs_quota_us and
    cpu.cfs_period_us; /sys/fs/cgroup/cpu or /sys/fs/cgroup/cpu,cpuacct);
  * cgroup v2 where the cpu controller is enabled for children
    (cgroup.subtree_control lists "cpu"; cpu.max "QUOTA PERIOD").
`find_cpu_root()` says which one can be used here, or why none can (no
controller, read-only file system, not root): the caller skips with that
message. `remove()` removes the cgroup (after its process exited); the
harness calls it in a finally block for every cgroup it made.

Threading: not thread-safe; one harness thread makes and removes cgroups.
"""
import os
import time

PERIOD_US = 100000
V1_CANDIDATES = ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct")
V2_CANDIDATES = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")


class CgroupUnavailable(RuntimeError):
    """No writable cgroup with a cpu controller: the message says why."""


def _own_path(controller_v1):
    """This process's cgroup path in the v1 hierarchy holding `controller_v1`,
    or in the v2 hierarchy when controller_v1 is None."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, controllers, path = line.rstrip("\n").split(":", 2)
            if controller_v1 is None and hid == "0" and not controllers:
                return path
            if controller_v1 is not None and controller_v1 in controllers.split(","):
                return path
    return "/"


def _writable_dir(path):
    return os.path.isdir(path) and os.access(path, os.W_OK)


def find_cpu_root():
    """(version, directory under which child cgroups are made) or raises
    CgroupUnavailable with the reasons of every candidate."""
    reasons = []
    for mount in V1_CANDIDATES:
        if not os.path.exists(os.path.join(mount, "cpu.cfs_quota_us")):
            reasons.append(f"{mount}: no cgroup v1 cpu controller")
            continue
        base = os.path.join(mount, _own_path("cpu").lstrip("/"))
        if _writable_dir(base):
            return 1, base
        reasons.append(f"{base}: not writable (root, and a writable cgroup mount, needed)")
    for mount in V2_CANDIDATES:
        ctl = os.path.join(mount, "cgroup.controllers")
        if not os.path.exists(ctl):
            continue
        base = os.path.join(mount, _own_path(None).lstrip("/"))
        try:
            with open(os.path.join(base, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
        except OSError as e:
            reasons.append(f"{base}: {e.strerror}")
            continue
        if "cpu" not in enabled:
            reasons.append(f"{base}: cgroup v2 without the cpu controller for children "
                           f"(cgroup.subtree_control: {' '.join(enabled) or 'empty'})")
            continue
        if _writable_dir(base):
            return 2, base
        reasons.append(f"{base}: not writable")
    raise CgroupUnavailable("no writable cgroup with a CPU controller: " + "; ".join(reasons))


class CpuCgroup:
    """A child cgroup limited to `cpus` CPUs (quota / period)."""

    def __init__(self, name, cpus, root=None):
        self.version, base = root or find_cpu_root()
        self.path = os.path.join(base, name)
        self.cpus = cpus
        os.makedirs(self.path, exist_ok=False)
        quota = max(1000, int(cpus * PERIOD_US))
        try:
            if self.version == 1:
                self._write("cpu.cfs_period_us", str(PERIOD_US))
                self._write("cpu.cfs_quota_us", str(quota))
            else:
                self._write("cpu.max", f"{quota} {PERIOD_US}")
        except OSError:
            self.remove()
            raise

    def _write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(value)

    def preexec(self):
        """For Popen(preexec_fn=...): moves the (forked) child into the cgroup."""
        self._write("cgroup.procs", str(os.getpid()))

    def throttled(self):
        """(periods throttled, seconds throttled) so far, from cpu.stat."""
        stats = {}
        try:
            with open(os.path.join(self.path, "cpu.stat")) as f:
                for line in f:
                    k, v = line.split()
                    stats[k] = int(v)
        except (OSError, ValueError):
            return None
        if self.version == 1:
            return stats.get("nr_throttled", 0), stats.get("throttled_time", 0) / 1e9
        return stats.get("nr_throttled", 0), stats.get("throttled_usec", 0) / 1e6

    def remove(self, timeout=5.0):
        """Removes the cgroup; waits up to `timeout` for its processes to be
        gone (rmdir fails with EBUSY while one is left). Idempotent."""
        end = time.time() + timeout
        while os.path.isdir(self.path):
            try:
                os.rmdir(self.path)
                return True
            except OSError:
                if time.time() > end:
                    return False
                time.sleep(0.05)
        return True
