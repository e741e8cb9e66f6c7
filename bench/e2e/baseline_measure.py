"""Stand-alone throughput/CPU run of a Postfix baseline (issue #8, Part B).

Postfix's own load tools around one baseline: smtp-source -> PostfixRelay or
DiyGateway -> smtp-sink, all on loopback. For checking the baselines by hand
and for the figures in the Part B report; the e2e harness (e2e_bench.py)
measures the baselines with our load generator instead, the same way as
smimegate.

    /usr/bin/python3 bench/e2e/baseline_measure.py relay|diy
        [--messages 2000] [--size 10240] [--sessions 16] [--workdir DIR]
        [--key rsa2048|p256] [--encrypt] [--json OUT]

Prints one JSON object: messages, size, sessions, duration_s (first
connection of smtp-source -> last message handed to smtp-sink and the queue
empty), throughput_msgs_per_s, cpu_s (the baseline's process tree, see
proc_stats.py), cpu_s_per_1000_msgs, peak_rss_bytes and peak_pss_bytes of
that tree, loadgen_cpu_s (smtp-source + smtp-sink), delivered.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postfix_baselines as pb  # noqa: E402
from proc_stats import ProcTree, RssSampler  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
from sgtest import free_port  # noqa: E402


def make_signer(d, key):
    """A self-signed S/MIME signer (and recipient) certificate for the DIY run."""
    keyfile, cert = os.path.join(d, "signer.key"), os.path.join(d, "signer.pem")
    alg = (["-newkey", "rsa:2048"] if key == "rsa2048"
           else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    subprocess.run(["openssl", "req", "-x509", *alg, "-nodes", "-keyout", keyfile,
                    "-out", cert, "-days", "2", "-subj", "/CN=bench signer",
                    "-addext", "keyUsage=digitalSignature,keyEncipherment,keyAgreement",
                    "-addext", "extendedKeyUsage=emailProtection"],
                   check=True, capture_output=True)
    return cert, keyfile


def queue_empty(inst):
    for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
        for _root, _dirs, files in os.walk(os.path.join(inst.queue_dir, sub)):
            if files:
                return False
    return True


def delivered_count(inst, nexthop_port):
    """status=sent lines to the sink in the instance's maillog."""
    needle = f"relay=127.0.0.1[127.0.0.1]:{nexthop_port},"
    n = 0
    try:
        with open(inst.maillog, errors="replace") as f:
            for line in f:
                if "status=sent" in line and needle in line:
                    n += 1
    except OSError:
        pass
    return n


def measure(kind, messages, size, sessions, workdir, key="rsa2048", encrypt=False,
            timeout=600):
    listen, sink_port = free_port(), free_port()
    rcpt = "bench-rcpt@dest.example"
    if kind == "relay":
        inst = pb.PostfixRelay(workdir, listen, sink_port)
    else:
        cert, keyfile = make_signer(workdir, key)
        inst = pb.DiyGateway(workdir, listen, sink_port, cert, keyfile,
                             encrypt_to={rcpt: cert} if encrypt else None)
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{sink_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        inst.start()
        tree = ProcTree([inst.master_pid])
        load_tree = ProcTree([sink.pid])
        cpu0, load0 = tree.cpu_seconds(), load_tree.cpu_seconds()
        sampler = RssSampler(tree, interval=0.05, pss=True)
        sampler.start()
        t0 = time.monotonic()
        src = subprocess.Popen(["smtp-source", "-d", "-s", str(sessions), "-m", str(messages),
                                "-l", str(size), "-f", "bench-sender@source.example",
                                "-t", rcpt, f"127.0.0.1:{listen}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
        deadline = t0 + timeout
        # Reap smtp-source ourselves: wait4 gives its exact CPU.
        src_cpu = None
        while time.monotonic() < deadline:
            pid, status, ru = os.wait4(src.pid, os.WNOHANG)
            if pid == src.pid:
                src.returncode = os.waitstatus_to_exitcode(status)
                src_cpu = ru.ru_utime + ru.ru_stime
                break
            time.sleep(0.02)
        if src_cpu is None:
            src.kill()
            raise RuntimeError(f"smtp-source still running after {timeout} s")
        if src.returncode != 0:
            raise RuntimeError(f"smtp-source failed: {src.stderr.read().decode(errors='replace')}")
        while time.monotonic() < deadline:
            if queue_empty(inst) and delivered_count(inst, sink_port) >= messages:
                break
            time.sleep(0.02)
        t1 = time.monotonic()
        cpu = tree.cpu_seconds() - cpu0
        sampler.stop()
        load_cpu = load_tree.cpu_seconds() - load0 + src_cpu
        delivered = delivered_count(inst, sink_port)
    finally:
        inst.stop()
        sink.terminate()
        sink.wait()
    dur = t1 - t0
    return {"baseline": kind, "key": key if kind == "diy" else None,
            "encrypt": bool(encrypt), "messages": messages, "size": size,
            "sessions": sessions, "delivered": delivered, "duration_s": dur,
            "throughput_msgs_per_s": delivered / dur if dur > 0 else None,
            "cpu_s": cpu, "cpu_s_per_1000_msgs": cpu * 1000 / max(delivered, 1),
            "peak_rss_bytes": sampler.peak_bytes, "peak_pss_bytes": sampler.peak_pss_bytes,
            "loadgen_cpu_s": load_cpu, "cores": os.cpu_count()}


def _main(argv):
    ap = argparse.ArgumentParser(description="smtp-source -> Postfix baseline -> smtp-sink")
    ap.add_argument("kind", choices=["relay", "diy"])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--sessions", type=int, default=16)
    ap.add_argument("--key", choices=["rsa2048", "p256"], default="rsa2048")
    ap.add_argument("--encrypt", action="store_true",
                    help="DIY: the recipient has a certificate (sign + encrypt)")
    ap.add_argument("--workdir")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    work = a.workdir or tempfile.mkdtemp(prefix="sg-bench-baseline-")
    try:
        res = measure(a.kind, a.messages, a.size, a.sessions, work, a.key, a.encrypt)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(res, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    return 0 if res["delivered"] >= a.messages else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
