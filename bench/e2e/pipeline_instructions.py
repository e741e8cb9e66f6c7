#!/usr/bin/python3
"""Instructions per message of the whole `smimegate run` process (ingress,
embedded queue, one worker, egress to a maildir) under callgrind, for the
bench/e2e decrypt_verify message (10 KB, signed by a partner then encrypted
to alice, RSA-2048), for two builds side by side (docs/benchmarks.md).

Wall-clock CPU per message on a shared 2-core machine moves by 10-20 %
between identical runs; instruction counts under callgrind repeat far more
closely, so a before/after ratio of a few percent can be read from them.
Counts per message are slopes between a run of N1 and a run of N2 messages,
so start-up (key store, RocksDB, TLS contexts) and shut-down cancel out.

Reported per message (inclusive instructions of these functions):
  worker   sg::workers::WorkerPool::Run: the worker thread (consume, policy:
           decrypt, verify, rewrite, produce, ack)
  path     worker + ingress Session::Feed (SMTP intake, queue write) + egress
           Deliver (maildir write): the message's own path through the three
           stages. This is the headline number.
  process  the whole process. Not deterministic under callgrind: timer-driven
           threads (egress tick, gRPC pollers, RocksDB background work, metrics)
           add instructions in proportion to wall time, which depends on the
           machine's load; shown for completeness.
Instructions are not cycles: RSA's big-number code retires more instructions
per cycle than parsing does, so these ratios are a close proxy of CPU time,
not CPU time itself.

  pipeline_instructions.py --before BUILD_DIR --after BUILD_DIR
                           [--counts 20,120] [--rounds 2] [--keep DIR]

Each build is started once per (count, round), interleaved (before, after,
before, after, ...), under nice -n 15. One home (alice's key, the partner
CA, the message) is prepared with the --before build and copied for every
run, so both builds decrypt the same bytes with the same key.
"""
import argparse
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_pki  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
from sgtest import free_port  # noqa: E402

SIZE = 10240
STAGES = {
    "worker": ["sg::workers::WorkerPool::Run("],
    "path": ["sg::workers::WorkerPool::Run(", "sg::ingress::Session::Feed(",
             "sg::egress::EgressService::Impl::Deliver("],
}


def write_config(home):
    ports = {k: free_port() for k in ("mx", "relay", "metrics", "ks")}
    with open(os.path.join(home, "smimegate.yaml"), "w") as f:
        f.write(f"""hosted_domains: [example.com]
log: {{format: text, level: warn}}
metrics: {{address: 127.0.0.1, port: {ports['metrics']}}}
queue: {{type: embedded}}
keyservice: {{listen: "127.0.0.1:{ports['ks']}", kek_file: kek, kek_create: true, key_type: rsa-2048}}
ingress:
  listeners:
    - {{name: mx, address: 127.0.0.1, port: {ports['mx']}, role: mx}}
    - {{name: relay, address: 127.0.0.1, port: {ports['relay']}, role: relay, trusted_networks: [127.0.0.0/8]}}
workers: {{threads: 1}}
egress:
  inbound: {{transport: maildir, path: mail/in}}
  outbound: {{transport: maildir, path: mail/out}}
""")
    return ports


def start(cmd, home):
    log_path = os.path.join(home, "gw.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    for _ in range(2400):
        if "smimegate ready" in open(log_path, errors="replace").read():
            return proc, log
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("gateway not ready: " + open(log_path, errors="replace").read()[-2000:])


def stop(proc, log):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=900)
    log.close()


def wait_files(d, n, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(os.listdir(d)) >= n:
            return True
        time.sleep(0.5)
    return False


def binaries(build):
    return (os.path.join(build, "cmd/smimegate/smimegate"),
            os.path.join(build, "cmd/smimegatectl/smimegatectl"))


def prepare(build, home):
    """alice's key, the partner CA trusted, home/msg.eml built: no key
    generation falls into a measurement."""
    gw, ctl_bin = binaries(build)
    for d in ("mail/in/new", "mail/out/new"):
        os.makedirs(os.path.join(home, d))
    ports = write_config(home)
    cfg = os.path.join(home, "smimegate.yaml")
    proc, log = start([gw, "run", "--config", cfg], home)
    try:
        def ctl(*a):
            subprocess.run([ctl_bin, "--config", cfg, "--timeout", "60", *a],
                           check=True, stdout=subprocess.PIPE, cwd=home)
        ctl("user", "add", "alice@example.com")
        pki = e2e_pki.Pki(home, "rsa2048")
        partner_pem, partner_key = pki.issue("partner@example.org")
        ctl("trust", "add", pki.ca_pem)
        # One outbound message so that alice's certificate exists for export.
        with smtplib.SMTP("127.0.0.1", ports["relay"], timeout=60) as s:
            s.sendmail("alice@example.com", ["x@nocert.example"],
                       b"From: alice@example.com\r\nTo: x@nocert.example\r\n"
                       b"Subject: hi\r\n\r\nhi\r\n")
        if not wait_files(os.path.join(home, "mail/out/new"), 1, 120):
            raise RuntimeError("the preparation message was not relayed")
        alice = os.path.join(home, "alice.pem")
        ctl("cert", "export", "alice@example.com", "--out", alice)
        e2e_pki.make_inbound_template(os.path.join(home, "msg.eml"), SIZE, partner_pem,
                                      partner_key, pki.ca_pem, alice,
                                      "partner@example.org", "alice@example.com")
    finally:
        stop(proc, log)
    for d in ("mail/in/new", "mail/out/new"):
        for f in os.listdir(os.path.join(home, d)):
            os.unlink(os.path.join(home, d, f))


def measure(build, template, n, out_file):
    """Instructions of one `smimegate run` that takes n messages on its MX
    listener and delivers them; checks every one arrived decrypted and
    verified."""
    gw, _ = binaries(build)
    work = tempfile.mkdtemp(prefix="sg-pipeline-")
    home = os.path.join(work, "home")
    shutil.copytree(template, home)
    ports = write_config(home)
    data = open(os.path.join(home, "msg.eml"), "rb").read()
    cmd = ["nice", "-n", "15", "valgrind", "--tool=callgrind",
           "--callgrind-out-file=" + out_file, gw, "run",
           "--config", os.path.join(home, "smimegate.yaml")]
    proc, log = start(cmd, home)
    try:
        with smtplib.SMTP("127.0.0.1", ports["mx"], timeout=600) as s:
            for _ in range(n):
                s.sendmail("partner@example.org", ["alice@example.com"], data)
        inbox = os.path.join(home, "mail/in/new")
        if not wait_files(inbox, n, 3600):
            raise RuntimeError(f"{build}: {len(os.listdir(inbox))} of {n} delivered")
        for name in os.listdir(inbox):
            head = open(os.path.join(inbox, name), "rb").read().split(b"\r\n\r\n", 1)[0]
            if b"[secure] [signed OK]" not in head:
                raise RuntimeError(f"{build}: {name} not marked [secure] [signed OK]")
    finally:
        stop(proc, log)
        shutil.rmtree(work, ignore_errors=True)
    return counts(out_file)


def counts(cg_file):
    """{"process": total, "worker": ..., "path": ...} from one callgrind file."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", cg_file],
                          check=True, stdout=subprocess.PIPE, text=True).stdout
    inclusive = {}
    total = None
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[0].replace(",", "").isdigit():
            continue
        value = int(parts[0].replace(",", ""))
        if "PROGRAM TOTALS" in line:
            total = value
        name = parts[2].split(":", 1)[1] if ":" in parts[2] else parts[2]
        inclusive.setdefault(name.split(" [", 1)[0], value)
    if total is None:
        raise RuntimeError(f"no totals in {cg_file}")
    out = {"process": total}
    for stage, prefixes in STAGES.items():
        found = [v for p in prefixes for n, v in inclusive.items() if n.startswith(p)]
        if len(found) != len(prefixes):
            raise RuntimeError(f"{cg_file}: not every function of {stage} found")
        out[stage] = sum(found)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="build dir of the baseline (Release)")
    ap.add_argument("--after", required=True, help="build dir of the change (Release)")
    ap.add_argument("--counts", default="20,120", help="N1,N2 messages per run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep", help="directory for the callgrind files (default: a temp dir)")
    args = ap.parse_args()
    n1, n2 = (int(x) for x in args.counts.split(","))
    out_dir = args.keep or tempfile.mkdtemp(prefix="sg-pipeline-cg-")
    os.makedirs(out_dir, exist_ok=True)
    template = tempfile.mkdtemp(prefix="sg-pipeline-home-")
    try:
        prepare(args.before, template)
        per_msg = {(w, k): [] for w in ("before", "after") for k in ("worker", "path", "process")}
        for r in range(1, args.rounds + 1):
            for which in ("before", "after"):
                build = getattr(args, which)
                c1, c2 = (measure(build, template, n, os.path.join(out_dir, f"{which}-{n}-{r}.cg"))
                          for n in (n1, n2))
                line = []
                for k in ("worker", "path", "process"):
                    slope = (c2[k] - c1[k]) / (n2 - n1)
                    per_msg[(which, k)].append(slope)
                    line.append(f"{k} {slope / 1e6:.3f}")
                print(f"round {r} {which}: M instructions per message: " + ", ".join(line),
                      flush=True)
    finally:
        shutil.rmtree(template, ignore_errors=True)
    for k in ("worker", "path", "process"):
        before = sum(per_msg[("before", k)]) / args.rounds
        after = sum(per_msg[("after", k)]) / args.rounds
        print(f"{k}: before {before / 1e6:.3f} M instructions per message, after "
              f"{after / 1e6:.3f} M: after/before {after / before:.3f}")
    print(f"callgrind files: {out_dir}")


if __name__ == "__main__":
    main()
