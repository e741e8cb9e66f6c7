"""Process-tree CPU and memory accounting from /proc (issue #8, Part B).

Why /proc and not cgroups: CI containers often lack a writable cgroup tree,
and every process we measure (smimegate, the Postfix master, the DIY
gateway's filter scripts) is a descendant of a process this harness started.

CPU method (exact while the roots live): for every LIVE process in the trees
under the root pids we add utime + stime + cutime + cstime from
/proc/PID/stat. A child that has exited and been reaped is accounted in its
parent's cutime/cstime (the kernel folds it in at wait()), so the sum covers
every process that ever ran in the tree, as long as the chain of parents up
to a root is alive and reaps its children (Postfix's master and pipe(8) do;
so does smimegate). Take deltas between two calls around the measured
window. What is NOT covered: a process that double-forks away to init (none
of ours do), and a child that exited but is not yet reaped (a zombie's own
utime/stime is still readable, so we count zombies as live processes).

Memory: sample_rss() is the current sum of VmRSS over the tree (shared pages
counted once per process, as `ps` would), RssSampler keeps the peak;
sample_pss() / RssSampler(pss=True) give the proportional set size, which
does not count shared library pages once per process (fairer between
Postfix's ~100 processes and smimegate's few).

Usage:
    tree = ProcTree([master_pid])
    c0 = tree.cpu_seconds(); ...load...; cpu = tree.cpu_seconds() - c0
    with RssSampler(tree) as s: ...load...
    peak = s.peak_bytes
"""

import os
import threading

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _start_time(pid):
    """Field 22 of /proc/PID/stat (start time in ticks since boot) or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return int(data[data.rfind(b")") + 2:].split()[19])


def _read_stat(pid):
    """Returns (ppid, utime+stime+cutime+cstime ticks) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may contain spaces and ')': split after the LAST ')'.
    rest = data[data.rfind(b")") + 2:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3].
    ppid = int(rest[1])
    ticks = int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])
    return ppid, ticks


def _all_parents():
    """pid -> ppid for every process currently visible in /proc."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is not None:
            parents[int(name)] = st[0]
    return parents


class ProcTree:
    """The live processes under a set of root pids (roots included).

    Roots are pinned by their start time when the ProcTree is made: a root
    that exits and whose pid the kernel hands to an unrelated process later
    is not followed (pids wrap around quickly here: pid_max is often 32768
    and the DIY gateway forks ~15 processes per message).
    """

    def __init__(self, root_pids):
        self.root_pids = [int(p) for p in root_pids]
        self._root_start = {p: _start_time(p) for p in self.root_pids}

    def pids(self):
        """All live pids in the trees under the roots (a snapshot)."""
        parents = _all_parents()
        children = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        seen = set()
        stack = [p for p in self.root_pids if p in parents
                 and self._root_start.get(p) is not None
                 and _start_time(p) == self._root_start[p]]
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            stack.extend(children.get(pid, ()))
        return sorted(seen)

    def cpu_seconds(self):
        """utime+stime+cutime+cstime summed over the live tree, in seconds."""
        ticks = 0
        for pid in self.pids():
            st = _read_stat(pid)
            if st is not None:
                ticks += st[1]
        return ticks / _CLK_TCK

    def sample_rss(self):
        """Current sum of VmRSS over the live tree, in bytes."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * _PAGE
            except (FileNotFoundError, ProcessLookupError, PermissionError,
                    IndexError, ValueError):
                continue
        return total


    def sample_pss(self):
        """Current sum of Pss over the live tree, in bytes.

        Proportional set size: a page shared by N processes counts 1/N in
        each, so the sum is the tree's real memory footprint. This matters
        for Postfix (~100 small processes sharing libraries, where the RSS
        sum counts libc a hundred times) against one smimegate process.
        Reads /proc/PID/smaps_rollup (Linux >= 4.14); 0 for a process whose
        file is unreadable.
        """
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                    for line in f:
                        if line.startswith(b"Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except (FileNotFoundError, ProcessLookupError, PermissionError,
                    IndexError, ValueError):
                continue
        return total


class RssSampler(threading.Thread):
    """Samples tree.sample_rss() every `interval` seconds and keeps the peak.

    start()/stop() or use as a context manager; read .peak_bytes after stop.
    With pss=True it also keeps .peak_pss_bytes (the peak of sample_pss();
    costlier to read, so off by default; None when off).
    """

    def __init__(self, tree, interval=0.05, pss=False):
        super().__init__(daemon=True, name="RssSampler")
        self.tree = tree
        self.interval = interval
        self.pss = pss
        self.peak_bytes = 0
        self.peak_pss_bytes = 0 if pss else None
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self):
        while True:
            rss = self.tree.sample_rss()
            self.samples += 1
            if rss > self.peak_bytes:
                self.peak_bytes = rss
            if self.pss:
                pss = self.tree.sample_pss()
                if pss > self.peak_pss_bytes:
                    self.peak_pss_bytes = pss
            if self._stop_event.wait(self.interval):
                return

    def stop(self):
        """Stops sampling (takes one last sample) and returns peak_bytes."""
        self._stop_event.set()
        if self.is_alive():
            self.join()
        return self.peak_bytes

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
