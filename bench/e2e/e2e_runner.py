"""One measurement: the load generator against a system under test, with the
system's CPU and peak RSS accounted from /proc (proc_stats.ProcTree).

CPU of the system under test = ProcTree.cpu_seconds() after the load
generator exits minus before it starts (every message accepted has been
delivered by then, or the drain timed out); the load generator, which is also
the sink, is never part of the tree. Peak RSS = the largest sum of VmRSS over
the tree seen by an RssSampler during the run.

Closed-loop runs are sized by message count, not duration: a gateway accepts
into its queue faster than it processes, so a duration-bounded closed loop
would build a backlog whose drain dominates the run. A short pilot run
(which also warms up connections and caches) estimates the rate; the
measured run then sends rate x seconds messages.
"""
import json
import os
import subprocess
import time

import proc_stats

DEFAULT_CONNECTIONS = 16
LINGER_S = 0.2


class Load:
    """What a scenario sends: where, from/to, size or template."""

    def __init__(self, port, sender, recipient, size, template=None):
        self.port, self.sender, self.recipient = port, sender, recipient
        self.size, self.template = size, template


class LoadgenError(RuntimeError):
    pass


class Runner:
    def __init__(self, loadgen, sink_port, workdir, connections=DEFAULT_CONNECTIONS,
                 drain_timeout=60, log=print):
        self.loadgen, self.sink_port, self.workdir = loadgen, sink_port, workdir
        self.connections, self.drain_timeout, self.log = connections, drain_timeout, log
        self.counter = 0
        # Set per system under test (see Bench): seconds to wait before each
        # run, so that SMTP sessions it cached to the previous run's sink
        # (which is gone) are closed by their idle timeout first; and a
        # callable returning counters whose change over a run is recorded.
        self.settle_s = 0.0
        self.probe = None

    def run(self, load, root_pids, run_id, messages=None, duration=None, rate=None,
            side_pids=None):
        """One loadgen invocation. Returns a dict: the loadgen's JSON under
        "loadgen", plus cpu_s, peak_rss_bytes (system under test) and
        side_cpu_s (e.g. the Kafka broker, reported apart)."""
        self.counter += 1
        run_id = f"{run_id}-{self.counter}"
        json_path = os.path.join(self.workdir, f"loadgen-{run_id}.json")
        args = [self.loadgen, "--target", f"127.0.0.1:{load.port}",
                "--sink", f"127.0.0.1:{self.sink_port}",
                "--connections", str(self.connections),
                "--from", load.sender, "--to", load.recipient,
                "--drain-timeout", str(self.drain_timeout),
                "--run-id", run_id, "--json", json_path, "--quiet",
                # Keep the sink up a little after the last delivery: the last
                # message's 250 gets written (without it the system under test
                # sees the connection drop and delivers it again later) and a
                # late duplicate is still counted.
                "--linger", f"{LINGER_S:g}"]
        if load.template:
            args += ["--template", load.template]
        else:
            args += ["--size", str(load.size)]
        if messages is not None:
            args += ["--messages", str(int(messages))]
        if duration is not None:
            args += ["--duration", f"{duration:g}"]
        if rate is not None:
            args += ["--rate", f"{rate:.3f}"]
        if self.settle_s:
            time.sleep(self.settle_s)
        before = self.probe() if self.probe else {}
        tree = proc_stats.ProcTree(root_pids)
        side = proc_stats.ProcTree(side_pids) if side_pids else None
        # PSS too (shared pages split between processes: fair to Postfix's
        # many daemons); reading it costs more, hence 0.1 s.
        sampler = proc_stats.RssSampler(tree, interval=0.1, pss=True)
        sampler.start()
        cpu0 = tree.cpu_seconds()
        side0 = side.cpu_seconds() if side else 0.0
        t0 = time.monotonic()
        stderr_path = os.path.join(self.workdir, f"loadgen-{run_id}.err")
        with open(stderr_path, "w") as err:
            p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
            limit = (duration or 0) + self.drain_timeout + 120 + (messages or 0) / 50
            try:
                out, _ = p.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
                raise LoadgenError(f"{run_id}: load generator did not finish within {limit:.0f} s")
        wall = time.monotonic() - t0
        cpu1 = tree.cpu_seconds()
        side1 = side.cpu_seconds() if side else 0.0
        peak = sampler.stop()
        peak_pss = sampler.peak_pss_bytes
        after = self.probe() if self.probe else {}
        counters = {k: after.get(k, 0) - v for k, v in before.items()}
        result = _parse(out, json_path)
        if result is None or p.returncode not in (0, 1):
            with open(stderr_path, errors="replace") as f:
                tail = f.read()[-1500:]
            raise LoadgenError(f"{run_id}: load generator exit {p.returncode}, no JSON; "
                               f"args {' '.join(args)}\n{tail}")
        return {"run_id": run_id, "args": args[1:], "exit_code": p.returncode,
                "wall_s": wall, "loadgen": result, "cpu_s": cpu1 - cpu0,
                "side_cpu_s": side1 - side0, "peak_rss_bytes": peak, "peak_pss_bytes": peak_pss,
                "counters": counters}

    def measure_peak(self, load, root_pids, run_id, seconds, pilot_messages,
                     min_messages=50, max_messages=200000, side_pids=None):
        """Pilot (warm-up + rate estimate) then the measured closed-loop run."""
        pilot = self.run(load, root_pids, run_id + "-pilot", messages=pilot_messages,
                         side_pids=side_pids)
        est = pilot["loadgen"].get("throughput_msgs_per_s") or 0.0
        n = int(min(max_messages, max(min_messages, est * seconds)))
        self.log(f"    pilot {pilot_messages} msgs: {est:.1f} msgs/s -> measuring {n} msgs")
        m = self.run(load, root_pids, run_id + "-peak", messages=n, side_pids=side_pids)
        m["sizing"] = {"estimate_msgs_per_s": est, "seconds": seconds, "messages": n,
                       "capped": est * seconds > max_messages}
        m["pilot"] = {"messages": pilot_messages, "throughput_msgs_per_s": est,
                      "lost": pilot["loadgen"].get("lost"), "exit_code": pilot["exit_code"],
                      "counters": pilot["counters"]}
        return m

    def measure_rate(self, load, root_pids, run_id, rate, seconds, side_pids=None):
        """Open loop at `rate` msgs/s for `seconds` (latency from due time)."""
        return self.run(load, root_pids, run_id + "-half", duration=seconds, rate=rate,
                        side_pids=side_pids)


def _parse(stdout, json_path):
    for text in (stdout or "", _read(json_path)):
        text = text.strip()
        if not text:
            continue
        try:
            return json.loads(text)
        except ValueError:
            # The last line that is a JSON object.
            for line in reversed(text.splitlines()):
                line = line.strip()
                if line.startswith("{"):
                    try:
                        return json.loads(line)
                    except ValueError:
                        continue
    return None


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
