#!/usr/bin/python3
"""smimegate end-to-end benchmark (issue 8): the orchestrator.

    bench/e2e/run.sh [--quick | --smoke] [options]      (builds, then runs this)

For each queue mode (embedded, kafka) and user key type (RSA-2048, P-256) it
starts smimegate in a temp dir, sets up users and a partner, checks that
every scenario delivers the form it claims (e2e_check), then measures each
scenario x message size with the load generator (smimegate-bench-smtp,
which is also the SMTP sink), and at 10 KB once more at half the measured
peak rate (open loop) for the latency target. Beside it, on the same
machine with the same load: Postfix as a plain relay, a do-it-yourself
S/MIME gateway (Postfix + openssl cms content filter) and the crypto limit.
Writes report.md, results.json and PNG charts into bench/results/<UTC>/.
docs/benchmarks.md explains what is measured and how.

Exit code: 0 when every run delivered every accepted message exactly once and
every form check passed (performance targets are reported, not enforced),
1 otherwise, 2 for usage errors.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import e2e_check  # noqa: E402
import e2e_gateway as gwm  # noqa: E402
import e2e_machine  # noqa: E402
import e2e_metrics  # noqa: E402
import e2e_pki  # noqa: E402
import e2e_report  # noqa: E402
from e2e_runner import Load, LoadgenError, Runner  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
SCENARIOS = ["relay", "sign", "sign_encrypt", "decrypt_verify"]
SIZES = [2048, 10240, 102400, 1048576]
MODES = ["embedded", "kafka"]
KEYS = ["rsa2048", "p256"]
HALF_PEAK_SIZE = 10240

# Pilot messages per size (warm-up + rate estimate) for the full/quick run.
PILOT = {2048: 40, 10240: 40, 102400: 20, 1048576: 8}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    prof = ap.add_mutually_exclusive_group()
    prof.add_argument("--quick", action="store_true",
                      help="10 KB, embedded, RSA + P-256, every scenario, baselines (~5 min)")
    prof.add_argument("--smoke", action="store_true",
                      help="2 KB, embedded, RSA, small counts, baselines (< 90 s; the ctest)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                    help="build with smimegate, smimegatectl, the test broker and the bench targets")
    ap.add_argument("--out", help="results directory (default bench/results/<UTC timestamp>)")
    ap.add_argument("--modes", help="comma list of embedded,kafka")
    ap.add_argument("--keys", help="comma list of rsa2048,p256")
    ap.add_argument("--scenarios", help="comma list of " + ",".join(SCENARIOS))
    ap.add_argument("--sizes", help="comma list of message sizes in bytes")
    ap.add_argument("--seconds", type=float, help="target length of each measured run")
    ap.add_argument("--half-seconds", type=float, help="length of each half-peak run")
    ap.add_argument("--connections", type=int, default=16, help="SMTP connections of the load")
    ap.add_argument("--no-baselines", action="store_true", help="skip Postfix and DIY (crypto limit stays)")
    ap.add_argument("--no-half-peak", action="store_true", help="skip the half-peak latency runs")
    ap.add_argument("--log-level", default="warn", help="smimegate log.level during the runs")
    ap.add_argument("--no-share-bodies", action="store_true",
                    help="workers.share_bodies: false (the deliver record copies an unchanged "
                         "body instead of referring to it; issue 21's before/after)")
    ap.add_argument("--no-egress-wake", action="store_true",
                    help="egress.wake_on_data: false (egress finds deliver records only at its "
                         "20 ms poll_interval; the before of issue 21's tail-latency A/B)")
    ap.add_argument("--egress-body-fetch-threads", type=int, metavar="N",
                    help="egress.body_fetch_threads (default: the gateway's, -1: 2 with Kafka, 0 "
                         "embedded; 0 resolves body references on egress's loop)")
    ap.add_argument("--kafka-property", action="append", default=[], metavar="KEY=VALUE",
                    help="extra librdkafka setting (queue.kafka.properties), repeatable")
    ap.add_argument("--keep-work", action="store_true", help="keep the temp work dir (logs, configs)")
    ap.add_argument("--perf-call-graph", default="fp", choices=["fp", "dwarf"],
                    help="perf's call-graph method: fp (cheap; Release builds omit frame pointers) "
                         "or dwarf (callers of library code resolved; large perf.data)")
    ap.add_argument("--perf", action="store_true",
                    help="after the measurements of each scenario at 10 KB, one more closed-loop run "
                         "under `perf record -g` of the gateway (not counted); perf-*.txt in the results")
    ap.add_argument("--scaling", action="store_true",
                    help="instead of the matrix: worker scale-out in the distributed mode, each "
                         "worker in a CPU cgroup (--worker-cpu), 1, 2, 4 workers (--quick: 1, 2), "
                         "sign+encrypt at 10 KB; scaling.md/scaling.json (e2e_scaling.py)")
    ap.add_argument("--workers", help="--scaling: comma list of worker counts (default 1,2,4)")
    ap.add_argument("--worker-cpu", type=float, default=0.3,
                    help="--scaling: each worker's CPU quota in CPUs (default 0.3)")
    ap.add_argument("--loadgen", help="path of smimegate-bench-smtp (default: found in --build-dir)")
    ap.add_argument("--crypto-limit", help="path of smimegate-bench-crypto-limit (default: found in --build-dir)")
    a = ap.parse_args(argv)
    if a.smoke:
        prof_name = "smoke"
        d = dict(modes=["embedded"], keys=["rsa2048"], sizes=[2048], seconds=1.5, half=2.0,
                 pilot=lambda s: 20, min_messages=40, crypto_seconds=0.5, drain=15)
    elif a.quick:
        prof_name = "quick"
        d = dict(modes=["embedded"], keys=KEYS, sizes=[10240], seconds=6.0, half=4.0,
                 pilot=lambda s: PILOT.get(s, 20), min_messages=40, crypto_seconds=1.0, drain=60)
    else:
        prof_name = "full"
        d = dict(modes=MODES, keys=KEYS, sizes=SIZES, seconds=10.0, half=6.0,
                 pilot=lambda s: PILOT.get(s, 20), min_messages=40, crypto_seconds=2.0, drain=90)
    a.profile = prof_name
    if a.smoke and a.scaling:
        ap.error("--scaling has --quick, not --smoke")
    if not 0.01 <= a.worker_cpu <= 64:
        ap.error("--worker-cpu wants a quota in CPUs, 0.01 .. 64")
    if any("=" not in p for p in a.kafka_property):
        ap.error("--kafka-property wants KEY=VALUE")
    a.modes = _list(a.modes, d["modes"], MODES, "--modes")
    a.keys = _list(a.keys, d["keys"], KEYS, "--keys")
    a.scenarios = _list(a.scenarios, SCENARIOS, SCENARIOS, "--scenarios")
    a.sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else d["sizes"]
    a.seconds = a.seconds or d["seconds"]
    a.half_seconds = a.half_seconds or d["half"]
    a.pilot, a.min_messages = d["pilot"], d["min_messages"]
    a.crypto_seconds, a.drain = d["crypto_seconds"], d["drain"]
    return a


def _list(value, default, allowed, flag):
    if not value:
        return list(default)
    items = [x.strip() for x in value.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad:
        sys.exit(f"{flag}: unknown {bad}; allowed {allowed}")
    return items


def find_binary(build_dir, name):
    for sub in ("bench/e2e", "bench/e2e/loadgen", "bench"):
        p = os.path.join(build_dir, sub, name)
        if os.access(p, os.X_OK):
            return p
    for root, _, files in os.walk(os.path.join(build_dir, "bench")):
        if name in files and os.access(os.path.join(root, name), os.X_OK):
            return os.path.join(root, name)
    return None


def _num(v):
    return "n/a" if v is None else f"{v:.3g}"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Bench:
    def __init__(self, args, work, argv, out):
        self.a, self.work, self.out = args, work, out
        self.bins = gwm.Binaries(args.build_dir)
        self.loadgen = args.loadgen or find_binary(args.build_dir, "smimegate-bench-smtp")
        self.crypto_bin = args.crypto_limit or find_binary(args.build_dir, "smimegate-bench-crypto-limit")
        self.sink_port = gwm.free_port()
        self.runner = Runner(self.loadgen, self.sink_port, work, connections=args.connections,
                             drain_timeout=args.drain, log=log)
        self.results = {
            "schema": 1,
            "meta": {"command": os.environ.get("SMIMEGATE_E2E_COMMAND")
                     or " ".join(["bench/e2e/e2e_bench.py"] + argv),
                     "profile": args.profile,
                     "started_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "options": {"modes": args.modes, "keys": args.keys,
                                 "scenarios": args.scenarios, "sizes": args.sizes,
                                 "seconds": args.seconds, "half_seconds": args.half_seconds,
                                 "connections": args.connections,
                                 "baselines": not args.no_baselines,
                                 "half_peak": not args.no_half_peak,
                                 "log_level": args.log_level,
                                 "kafka_properties": dict(gwm.KAFKA_DEFAULT_PROPERTIES,
                                                          **dict(p.split("=", 1) for p in args.kafka_property))},
                     "machine": e2e_machine.describe(REPO, args.build_dir)},
            "crypto_limit": {}, "checks": {}, "runs": [], "failures": []}

    def fail(self, what):
        log(f"FAILURE: {what}")
        self.results["failures"].append(what)

    # ---- measurements
    def record(self, m, **tags):
        lg = m["loadgen"]
        run = dict(tags)
        run.update(e2e_metrics.summarize(m))
        self.results["runs"].append(run)
        if lg.get("lost") or lg.get("duplicates") or m["exit_code"] != 0:
            self.fail(f"{m['run_id']}: lost {lg.get('lost')}, duplicates {lg.get('duplicates')}, "
                      f"exit {m['exit_code']}")
        if m.get("pilot") and (m["pilot"].get("lost") or m["pilot"]["exit_code"] != 0):
            self.fail(f"{m['run_id']} pilot: lost {m['pilot'].get('lost')}")
        if not lg.get("delivered"):
            self.fail(f"{m['run_id']}: nothing delivered")
        bad = {k: v for k, v in (m.get("counters") or {}).items()
               if v and not k.startswith("stage:")}
        if bad:
            log(f"    note: {m['run_id']}: gateway counters changed during the run: {bad}")
        log(f"    {tags.get('system')} {tags.get('scenario')} {tags.get('size')} {tags.get('phase')}: "
            f"{_num(run['msgs_per_s'])} msgs/s, p99 {_num(run['p99_ms'])} ms, "
            f"{_num(run['cpu_s_per_1000'])} CPU s/1000 msgs, RSS {_num(run['peak_rss_mb'])} MB, "
            f"{run['delivered']} msgs")
        hops = run.get("stage_latency") or {}
        if hops:
            log("      hops (mean / p99 bucket, ms): " + ", ".join(
                f"{h} {_num(v['mean_ms'])} / {_num(v['p99_le_ms'])}" for h, v in sorted(hops.items())))
        return run

    def crypto_limits(self, phase):
        """Measured at the start and at the end; the limit is the best of the
        two per operation (a floor: other load on a shared machine only ever
        makes an operation look slower)."""
        for key in self.a.keys:
            try:
                lim = e2e_metrics.run_crypto_limit(self.crypto_bin, key, self.a.crypto_seconds)
            except Exception as e:  # noqa: BLE001 - reported, the run goes on
                self.fail(f"crypto limit {key} ({phase}): {e}")
                continue
            self.results.setdefault("crypto_limit_runs", {}).setdefault(key, []).append(lim)
            best = e2e_metrics.best_crypto_limit(self.results["crypto_limit_runs"][key])
            self.results["crypto_limit"][key] = best
            log(f"crypto limit {key} ({phase}): sign {lim.get('sign', 0) * 1e6:.0f} µs, "
                f"key transport decrypt {lim.get('key_transport_decrypt', 0) * 1e6:.0f} µs")

    def gateway_matrix(self):
        for mode in self.a.modes:
            for i, key in enumerate(self.a.keys):
                scenarios = [s for s in self.a.scenarios if s != "relay" or i == 0]
                self.one_gateway(mode, key, scenarios)

    def one_gateway(self, mode, key, scenarios):
        label = f"{mode}/{key}"
        log(f"smimegate {label}: start")
        props = dict(p.split("=", 1) for p in self.a.kafka_property)
        g = gwm.Gateway(self.bins, self.work, mode, key, self.sink_port, log_level=self.a.log_level,
                        share_bodies=not self.a.no_share_bodies,
                        egress_wake=not self.a.no_egress_wake,
                        body_fetch_threads=self.a.egress_body_fetch_threads,
                        kafka_properties=props)
        pki = e2e_pki.Pki(self.work, key)
        partner_pem, partner_key = pki.issue(gwm.PARTNER)
        try:
            g.start()
            g.setup_users(partner_pem, pki.ca_pem)
            out = [s for s in scenarios if s != "decrypt_verify"]
            checks = e2e_check.check_forms(g, out, {}, partner_pem, partner_key) if out else {}
            if "decrypt_verify" in scenarios:
                if not out or "sign" not in out:  # our user's key is issued on first use
                    e2e_check.check_forms(g, ["sign"], {}, partner_pem, partner_key)
                alice_pem = g.export_user_cert(gwm.SENDER, os.path.join(g.home, "alice.pem"))
                templates = {}
                for size in self.a.sizes:
                    path = os.path.join(g.home, f"decrypt_verify-{size}.eml")
                    actual = e2e_pki.make_inbound_template(path, size, partner_pem, partner_key,
                                                           pki.ca_pem, alice_pem, gwm.PARTNER, gwm.SENDER)
                    templates[size] = (path, actual)
                checks.update(e2e_check.check_forms(
                    g, ["decrypt_verify"], {"decrypt_verify": templates[self.a.sizes[0]][0]},
                    partner_pem, partner_key))
            self.results["checks"][label] = checks
            log(f"smimegate {label}: forms {checks}")
            for sc, res in checks.items():
                if res != "ok":
                    self.fail(f"{label} {sc}: {res}")
            roots, side = g.root_pids(), g.broker_pids()
            self.runner.settle_s, self.runner.probe = gwm.SETTLE_S, g.counters
            for sc in scenarios:
                if checks.get(sc) != "ok":
                    continue
                peaks = {}
                for size in self.a.sizes:
                    load, actual = self.load_for(g, sc, size, templates if sc == "decrypt_verify" else None)
                    tags = dict(system="smimegate", mode=mode, key_type=key, scenario=sc, size=size,
                                actual_size=actual, phase="peak")
                    try:
                        cap = g.max_backlog_messages(load.size if not load.template else actual)
                        m = self.runner.measure_peak(load, roots, f"{mode}-{key}-{sc}-{size}",
                                                     self.a.seconds, self.a.pilot(size),
                                                     min_messages=min(self.a.min_messages, cap or 10**9),
                                                     max_messages=cap or 200000, side_pids=side)
                        peaks[size] = self.record(m, **tags)
                    except LoadgenError as e:
                        self.fail(str(e))
                hp = self.half_peak_size()
                if not self.a.no_half_peak and hp in peaks and peaks[hp]["msgs_per_s"] > 0:
                    load, actual = self.load_for(g, sc, hp, templates if sc == "decrypt_verify" else None)
                    rate = 0.5 * peaks[hp]["msgs_per_s"]
                    try:
                        m = self.runner.measure_rate(load, roots, f"{mode}-{key}-{sc}-{hp}", rate,
                                                     self.a.half_seconds, side_pids=side)
                        self.record(m, system="smimegate", mode=mode, key_type=key, scenario=sc,
                                    size=hp, actual_size=actual, phase="half_peak", rate=rate)
                    except LoadgenError as e:
                        self.fail(str(e))
                if self.a.perf and hp in peaks:
                    load, actual = self.load_for(g, sc, hp, templates if sc == "decrypt_verify" else None)
                    n = max(50, int(peaks[hp]["msgs_per_s"] * self.a.seconds))
                    cpu = peaks[hp].get("cpu_s_per_1000")
                    raw = e2e_metrics.raw_seconds(self.results["crypto_limit"].get(key), sc, hp)
                    self.perf_profile(f"{mode}-{key}-{sc}-{hp}", g, load, roots, n,
                                      cpu_per_msg_ms=cpu, raw_crypto_ms=raw * 1e3 if raw else None)
        except Exception as e:  # noqa: BLE001 - one broken gateway must not lose the rest
            self.fail(f"smimegate {label}: {e}\n{traceback.format_exc()}\n--- log\n{g.log_tail(2000)}")
        finally:
            g.stop()
            self.runner.settle_s, self.runner.probe = 0.0, None
        log(f"smimegate {label}: stopped")

    def perf_profile(self, name, g, load, roots, messages, cpu_per_msg_ms=None, raw_crypto_ms=None):
        """A closed-loop run of `messages` under perf record (call graphs)
        of the gateway process; the report (by stage and group of work,
        perf_groups.py, then by DSO and symbol, self time) goes to
        perf-<name>.txt in the results. Not a measurement: perf costs CPU;
        the shares are turned into ms per message with the CPU per message
        of the measured run beside it (cpu_per_msg_ms)."""
        data = os.path.join(self.work, f"perf-{name}.data")
        txt = os.path.join(self.out, f"perf-{name}.txt")
        rec = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", self.a.perf_call_graph,
                                "-p", str(g.proc.pid), "-o", data],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            self.runner.run(load, roots, f"{name}-perf", messages=messages)
        except LoadgenError as e:
            self.fail(f"perf run {name}: {e}")
        finally:
            rec.send_signal(signal.SIGINT)
            rec.wait(timeout=60)
        with open(txt, "w") as f:
            f.write("### by stage and group of work (bench/e2e/perf_groups.py)\n\n")
            f.flush()
            cmd = [sys.executable, os.path.join(HERE, "perf_groups.py"), data, "--title", name]
            if cpu_per_msg_ms:
                cmd += ["--cpu-per-msg-ms", f"{cpu_per_msg_ms:.4f}"]
            if raw_crypto_ms:
                cmd += ["--raw-crypto-ms", f"{raw_crypto_ms:.4f}"]
            subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, timeout=600)
            f.write("\n")
            for sort, limit in (("dso", "0.5"), ("dso,sym", "0.3")):
                f.write(f"### perf report --sort {sort} (self time, % of samples)\n")
                f.flush()
                subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                "--sort", sort, "--percent-limit", limit, "-g", "none"],
                               stdout=f, stderr=subprocess.DEVNULL, timeout=300)
            # Inclusive time by the gateway's own functions (who calls libcrypto,
            # the kernel, malloc): meaningful with --perf-call-graph dwarf.
            f.write("### perf report --children --sort sym, smimegate's own symbols (inclusive time)\n")
            f.flush()
            subprocess.run(["perf", "report", "-i", data, "--stdio", "--children", "--dsos", "smimegate",
                            "--sort", "sym", "--percent-limit", "1", "-g", "none"],
                           stdout=f, stderr=subprocess.DEVNULL, timeout=300)
        self.results.setdefault("perf", {})[name] = os.path.basename(txt)
        log(f"    perf profile: {txt}")

    def half_peak_size(self):
        return HALF_PEAK_SIZE if HALF_PEAK_SIZE in self.a.sizes else self.a.sizes[0]

    def load_for(self, g, sc, size, templates):
        if sc == "relay":
            return Load(g.relay_port, gwm.PLAIN_SENDER, gwm.RELAY_RCPT, size), size
        if sc == "sign":
            return Load(g.relay_port, gwm.SENDER, gwm.NOCERT, size), size
        if sc == "sign_encrypt":
            return Load(g.relay_port, gwm.SENDER, gwm.PARTNER, size), size
        path, actual = templates[size]
        return Load(g.mx_port, gwm.PARTNER, gwm.SENDER, size, template=path), actual

    # ---- baselines
    def baselines(self):
        if self.a.no_baselines:
            return
        import postfix_baselines as pb
        if "relay" in self.a.scenarios:
            port = gwm.free_port()
            pf = pb.PostfixRelay(os.path.join(self.work, "postfix-relay"), port, self.sink_port)
            self.baseline_runs("postfix_relay", pf, port, "relay", None,
                               lambda size: Load(port, gwm.PLAIN_SENDER, gwm.RELAY_RCPT, size))
        diy_scen = [s for s in ("sign", "sign_encrypt") if s in self.a.scenarios]
        for key in (self.a.keys if diy_scen else []):
            pki = e2e_pki.Pki(self.work, key, name="diy")
            signer_pem, signer_key = pki.issue(gwm.SENDER)
            partner_pem, _ = pki.issue(gwm.PARTNER)
            port = gwm.free_port()
            diy = pb.DiyGateway(os.path.join(self.work, f"diy-{key}"), port, self.sink_port,
                                signer_pem, signer_key, {gwm.PARTNER: partner_pem})
            for sc in diy_scen:
                rcpt = gwm.PARTNER if sc == "sign_encrypt" else gwm.NOCERT
                self.baseline_runs("diy", diy, port, sc, key,
                                   lambda size, r=rcpt: Load(port, gwm.SENDER, r, size),
                                   stop=(sc == diy_scen[-1]))

    def baseline_runs(self, system, inst, port, sc, key, load_of, stop=True):
        log(f"{system} {sc} {key or ''}: start")
        # Postfix keeps SMTP sessions to the sink cached for 2 s
        # (smtp_connection_cache_time_limit); let them expire between runs.
        self.runner.settle_s, self.runner.probe = 2.3, None
        try:
            if not getattr(inst, "_e2e_started", False):
                inst.start()
                inst._e2e_started = True
            for size in self.a.sizes:
                tags = dict(system=system, mode=None, key_type=key, scenario=sc, size=size,
                            actual_size=size, phase="peak")
                try:
                    m = self.runner.measure_peak(load_of(size), inst.root_pids(),
                                                 f"{system}-{key or 'any'}-{sc}-{size}",
                                                 self.a.seconds, self.a.pilot(size),
                                                 min_messages=self.a.min_messages)
                    self.record(m, **tags)
                except LoadgenError as e:
                    self.fail(str(e))
        except Exception as e:  # noqa: BLE001
            self.fail(f"{system} {sc}: {e}\n{traceback.format_exc()}")
            stop = True
        finally:
            if stop:
                inst.stop()
                inst._e2e_started = False
                log(f"{system}: stopped")

    # ---- all
    def run(self):
        missing = self.bins.missing("kafka" in self.a.modes)
        for name, p in (("smimegate-bench-smtp", self.loadgen),
                        ("smimegate-bench-crypto-limit", self.crypto_bin)):
            if not p:
                missing.append(f"{name} (under {self.a.build_dir}/bench)")
        if self.a.perf and not shutil.which("perf"):
            missing.append("perf (Debian package linux-perf, for --perf)")
        if missing:
            raise SystemExit("e2e_bench: missing binaries (build them, or use bench/e2e/run.sh): "
                             + ", ".join(missing))
        t0 = time.time()
        self.crypto_limits("start")
        self.gateway_matrix()
        self.baselines()
        self.crypto_limits("end")
        self.results["meta"]["duration_s"] = time.time() - t0
        self.results["meta"]["loadavg_end"] = e2e_machine.loadavg()


def main(argv):
    args = parse_args(argv)
    stamp = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H-%M-%SZ")
    out = os.path.abspath(args.out or os.path.join(REPO, "bench", "results", stamp))
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="smimegate-e2e-")
    # The DIY gateway's filter runs as user nobody (postfix_baselines.py) and
    # must be able to reach its files under the work dir.
    os.chmod(work, 0o711)
    log(f"e2e bench ({args.profile}): results -> {out}, work dir {work}")
    if args.scaling:
        return _scaling(args, work, out)
    bench = Bench(args, work, argv, out)
    try:
        bench.run()
    except KeyboardInterrupt:
        bench.fail("interrupted")
    finally:
        try:
            e2e_metrics.derive(bench.results, bench.half_peak_size())
        except Exception as e:  # noqa: BLE001 - the raw runs are still written
            bench.fail(f"deriving rows/targets: {e}\n{traceback.format_exc()}")
        bench.results["meta"]["finished_utc"] = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(bench.results, f, indent=1, sort_keys=True)
    e2e_report.write_all(bench.results, out)
    print(e2e_report.summary_text(bench.results))
    if bench.results["failures"] or args.keep_work:
        log(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    log(f"report: {os.path.join(out, 'report.md')}")
    return 1 if bench.results["failures"] else 0


def _scaling(args, work, out):
    import e2e_scaling
    loadgen = args.loadgen or find_binary(args.build_dir, "smimegate-bench-smtp")
    if not loadgen:
        raise SystemExit(f"e2e_bench --scaling: smimegate-bench-smtp not found under {args.build_dir}/bench")
    rc = e2e_scaling.main(args, work, out, log, loadgen)
    if rc == 1 or args.keep_work:
        log(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    log(f"report: {os.path.join(out, 'scaling.md')}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
