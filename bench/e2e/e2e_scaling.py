"""bench/e2e --scaling: worker scale-out under CPU quotas (issue 24).

    bench/e2e/run.sh --scaling [--quick] [--workers 1,2,4] [--worker-cpu 0.3]

The distributed mode (e2e_distributed: broker, keyservice, ingress, egress,
N workers, one process each). Every worker runs in a cgroup of its own
limited to --worker-cpu CPUs (e2e_cgroup; v1 cfs quota or v2 cpu.max), so
its thread count follows the quota (common/cpu_quota.h) and N workers have
N x that CPU, on any machine with enough cores for the rest. For each N the
workers are replaced, a pilot run warms them up (keys, sessions, the
consumer group's assignment) and estimates the rate, then a closed-loop run
of rate x seconds sign+encrypt messages of 10 KB measures the throughput.

Reported per N: msgs/s, the ratio to N x the one-worker throughput (target
>= 0.8), and the CPU of every process in cores (CPU seconds / wall seconds):
each worker (and how often the kernel throttled it: a saturated worker is
throttled in most periods), ingress, egress, keyservice, the broker (a
stand-in for a Kafka cluster, apart) and the load generator (SMTP source and
sink). "headroom" is the machine's cores minus everything measured: when it
is near 0, the processes outside the cgroups compete with the workers and the
ratio says nothing about the workers; lower --worker-cpu then.

Exit code: 0 when every message was delivered exactly once and the forms
were right (the ratio target is reported, not enforced), 1 otherwise,
77 when no cgroup with a writable CPU controller exists here (skipped).
"""
import datetime
import json
import os
import resource
import traceback

import e2e_cgroup
import e2e_check
import e2e_distributed
import e2e_gateway as gwm
import e2e_machine
import e2e_pki
from e2e_runner import Load, LoadgenError, Runner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = 10240
TARGET_RATIO = 0.8
SKIPPED = 77


def profile(args):
    """Worker counts, seconds per measured run, pilot messages."""
    counts = [int(x) for x in args.workers.split(",")] if args.workers else (
        [1, 2] if args.quick else [1, 2, 4])
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    return counts, seconds, (30 if args.quick else 60)


class Scaling:
    def __init__(self, args, work, out, log, loadgen):
        self.a, self.work, self.out, self.log = args, work, out, log
        self.counts, self.seconds, self.pilot = profile(args)
        self.bins = gwm.Binaries(args.build_dir)
        self.sink_port = gwm.free_port()
        self.runner = Runner(loadgen, self.sink_port, work, connections=args.connections,
                             drain_timeout=args.drain, log=log)
        self.cgroups = []
        self.results = {"schema": 1, "kind": "scaling", "runs": [], "failures": [], "checks": {},
                        "meta": {"command": os.environ.get("SMIMEGATE_E2E_COMMAND"),
                                 "profile": "quick" if args.quick else "full",
                                 "worker_cpu": args.worker_cpu, "workers": self.counts,
                                 "seconds": self.seconds, "size": SIZE,
                                 "key_type": "rsa2048", "connections": args.connections,
                                 "machine_cores": os.cpu_count(),
                                 "started_utc": _utc(),
                                 "machine": e2e_machine.describe(REPO, args.build_dir)}}

    def fail(self, what):
        self.log(f"FAILURE: {what}")
        self.results["failures"].append(what)

    def run(self):
        try:
            root = e2e_cgroup.find_cpu_root()
        except e2e_cgroup.CgroupUnavailable as e:
            self.log(f"SKIP: --scaling needs CPU cgroups: {e}")
            self.results["skipped"] = str(e)
            return SKIPPED
        self.results["meta"]["cgroup"] = {"version": root[0], "parent": root[1]}
        missing = self.bins.missing(True)
        if missing:
            raise SystemExit("e2e_bench --scaling: missing binaries: " + ", ".join(missing))
        g = e2e_distributed.DistributedGateway(self.bins, self.work, "rsa2048", self.sink_port,
                                               log_level=self.a.log_level,
                                               kafka_properties=dict(p.split("=", 1) for p in
                                                                     self.a.kafka_property))
        pki = e2e_pki.Pki(self.work, "rsa2048")
        partner_pem, partner_key = pki.issue(gwm.PARTNER)
        try:
            self.log("distributed gateway: start (broker, keyservice, ingress, egress)")
            g.start()
            g.setup_users(partner_pem, pki.ca_pem)
            self.runner.settle_s, self.runner.probe = gwm.SETTLE_S, g.counters
            for n in self.counts:
                self.one_count(g, root, n, partner_pem, partner_key)
        except Exception as e:  # noqa: BLE001 - reported with the logs
            self.fail(f"scaling: {e}\n{traceback.format_exc()}\n--- logs\n{g.log_tail(6000)}")
        finally:
            g.stop()
            self.remove_cgroups()
        self.derive()
        return 1 if self.results["failures"] else 0

    def remove_cgroups(self):
        for cg in self.cgroups:
            if not cg.remove():
                self.fail(f"cgroup {cg.path} could not be removed")
        self.cgroups = []

    def one_count(self, g, root, n, partner_pem, partner_key):
        g.stop_workers()
        self.remove_cgroups()
        tag = f"smimegate-bench-{os.getpid()}-{n}"
        self.cgroups = [e2e_cgroup.CpuCgroup(f"{tag}-{i + 1}", self.a.worker_cpu, root)
                        for i in range(n)]
        self.log(f"{n} worker(s) at {self.a.worker_cpu} CPU each: start")
        g.set_workers(self.cgroups, n)
        threads = [_worker_threads(w) for w in g.workers]
        if not self.results["checks"]:
            self.results["checks"] = e2e_check.check_forms(g, ["sign_encrypt"], {}, partner_pem,
                                                           partner_key)
            for sc, res in self.results["checks"].items():
                if res != "ok":
                    self.fail(f"form {sc}: {res}")
        load = Load(g.relay_port, gwm.SENDER, gwm.PARTNER, SIZE)
        try:
            # The first run absorbs the group's rebalance and the new
            # workers' cold caches; the second estimates the rate. The run is
            # sized for at least N x the one-worker rate (a pilot slowed by a
            # late rebalance must not make the measured run too short).
            for phase in ("warmup", "pilot"):
                pilot = self.runner.run(load, g.root_pids(), f"scaling-{n}-{phase}",
                                        messages=self.pilot, side_pids=g.broker_pids())
            est = pilot["loadgen"].get("throughput_msgs_per_s") or 0.0
            one = next((r["msgs_per_s"] for r in self.results["runs"] if r["workers"] == 1), 0.0)
            cap = g.max_backlog_messages(SIZE)
            msgs = int(min(cap, max(40, est * self.seconds, n * one * self.seconds)))
            self.log(f"    pilot {self.pilot} msgs: {est:.1f} msgs/s -> measuring {msgs} msgs")
            cpu0, ru0, busy0 = g.cpu_by_process(), _children_cpu(), _machine_busy()
            thr0 = [cg.throttled() for cg in self.cgroups]
            m = self.runner.run(load, g.root_pids(), f"scaling-{n}", messages=msgs,
                                side_pids=g.broker_pids())
            cpu1, ru1, busy1 = g.cpu_by_process(), _children_cpu(), _machine_busy()
            thr1 = [cg.throttled() for cg in self.cgroups]
        except LoadgenError as e:
            self.fail(str(e))
            return
        lg = m["loadgen"]
        wall = lg.get("duration_s") or m["wall_s"]
        cores = {k: (cpu1[k] - cpu0[k]) / wall for k in cpu1 if k in cpu0}
        cores["loadgen"] = (ru1 - ru0) / wall
        run = {"workers": n, "msgs_per_s": lg.get("throughput_msgs_per_s") or 0.0,
               "messages": msgs, "delivered": lg.get("delivered"), "lost": lg.get("lost"),
               "duplicates": lg.get("duplicates"), "duration_s": wall,
               "p99_ms": (lg.get("e2e_latency_ms") or {}).get("p99"),
               "cores": cores, "worker_threads": threads,
               "throttled": [_delta(a, b) for a, b in zip(thr0, thr1)],
               "machine_busy_cores": (busy1 - busy0) / wall,
               "counters": m.get("counters"), "pilot_msgs_per_s": est}
        self.results["runs"].append(run)
        if lg.get("lost") or lg.get("duplicates") or m["exit_code"] != 0 or not lg.get("delivered"):
            self.fail(f"{n} workers: delivered {lg.get('delivered')}, lost {lg.get('lost')}, "
                      f"duplicates {lg.get('duplicates')}, exit {m['exit_code']}")
        expect = max(1, int(-(-self.a.worker_cpu // 1)))
        if any(t is not None and t != expect for t in threads):
            self.fail(f"{n} workers: worker threads {threads}, expected {expect} each "
                      f"(the cgroup quota {self.a.worker_cpu} CPU, rounded up)")
        self.log(f"    {n} worker(s): {run['msgs_per_s']:.1f} msgs/s; cores "
                 + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cores.items())))

    def derive(self):
        runs = {r["workers"]: r for r in self.results["runs"]}
        one = runs.get(1, {}).get("msgs_per_s")
        cores = self.results["meta"]["machine_cores"] or 1
        for r in self.results["runs"]:
            r["ratio"] = r["msgs_per_s"] / (r["workers"] * one) if one else None
            r["pass"] = r["ratio"] is not None and r["ratio"] >= TARGET_RATIO
            worker = sum(v for k, v in r["cores"].items() if k.startswith("worker-"))
            rest = sum(v for k, v in r["cores"].items() if not k.startswith("worker-"))
            r["workers_cores"], r["rest_cores"] = worker, rest
            r["headroom_cores"] = cores - worker - rest
            # What else ran on the machine meanwhile (other jobs compete with
            # the workers for the cores; a starved worker is not throttled).
            r["others_cores"] = max(0.0, r["machine_busy_cores"] - worker - rest)
            r["workers_saturated"] = worker >= 0.85 * r["workers"] * self.a.worker_cpu
        self.results["meta"]["finished_utc"] = _utc()
        self.results["meta"]["loadavg_end"] = e2e_machine.loadavg()

    def write(self):
        with open(os.path.join(self.out, "scaling.json"), "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)
        with open(os.path.join(self.out, "scaling.md"), "w") as f:
            f.write("\n".join(report_lines(self.results)) + "\n")


def report_lines(res):
    meta = res["meta"]
    lines = [f"# smimegate scaling benchmark ({meta['profile']})", "",
             f"`{meta.get('command') or 'bench/e2e/e2e_bench.py --scaling'}`, {meta['started_utc']}; "
             f"sign+encrypt, {meta['size'] // 1024} KB, RSA-2048, distributed mode over the Kafka "
             f"test broker; each worker in its own cgroup (v{meta.get('cgroup', {}).get('version')}) "
             f"limited to {meta['worker_cpu']} CPU; {meta['machine_cores']} cores; "
             f"load average at the end {meta.get('loadavg_end')}.", "",
             f"Throughput with N workers against N x one worker's (target >= {TARGET_RATIO}); CPU "
             "of every process in cores over the measured run (the broker stands in for a Kafka "
             "cluster: apart); other processes = the machine's busy cores minus ours (other jobs "
             "competing for the cores: a worker that gets less than its quota is starved, not "
             "throttled); idle = cores nobody used.", "",
             "| workers | msgs/s | ratio | target | workers' cores (each) | throttled periods "
             "| ingress | egress | keyservice | broker | loadgen | other processes | idle |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cores = meta["machine_cores"] or 1
    for r in res["runs"]:
        c = r["cores"]
        each = " ".join(f"{c[k]:.2f}" for k in sorted(c) if k.startswith("worker-"))
        thr = " ".join(str(t[0]) if t else "n/a" for t in r["throttled"])
        ratio = "n/a" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['workers']} | {r['msgs_per_s']:.1f} | {ratio} | "
                     f"{'PASS' if r.get('pass') else 'FAIL'} | {r['workers_cores']:.2f} ({each}) | "
                     f"{thr} | {c.get('ingress', 0):.2f} | {c.get('egress', 0):.2f} | "
                     f"{c.get('keyservice', 0):.2f} | {c.get('broker', 0):.2f} | "
                     f"{c.get('loadgen', 0):.2f} | {r['others_cores']:.2f} | "
                     f"{max(0.0, cores - r['machine_busy_cores']):.2f} |")
    if res.get("failures"):
        lines += ["", "Failures:", ""] + [f"- {f.splitlines()[0]}" for f in res["failures"]]
    if res.get("skipped"):
        lines += ["", f"Skipped: {res['skipped']}"]
    return lines


def _worker_threads(stage):
    """The worker thread count the process logged ("workers: N threads")."""
    text = stage.log_tail(100000)
    marker = "workers: "
    for line in text.splitlines():
        i = line.find(marker)
        if i >= 0 and " threads consuming" in line:
            try:
                return int(line[i + len(marker):].split()[0])
            except ValueError:
                return None
    return None


def _machine_busy():
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle, iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _delta(a, b):
    if a is None or b is None:
        return None
    return [b[0] - a[0], b[1] - a[1]]


def _utc():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def main(args, work, out, log, loadgen):
    s = Scaling(args, work, out, log, loadgen)
    rc = s.run()
    s.write()
    print("\n".join(report_lines(s.results)))
    return rc
