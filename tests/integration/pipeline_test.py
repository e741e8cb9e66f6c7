#!/usr/bin/python3
"""The pipeline end to end, one suite over both queue implementations:

  --queue embedded   one `smimegate run` process around the RocksDB queue
  --queue kafka      separate processes (test broker, keyservice, ingress,
                     two workers, egress) connected through Kafka; the
                     workers reach the keyservice over TCP with mutual TLS,
                     with worker credentials issued by `smimegatectl
                     credentials issue` (the embedded mode's keyservice
                     listens on its default Unix socket)

A real SMTP client (smtplib) sends a burst of messages and one of 30 MB
through the relay listener to an SMTP sink (aiosmtpd). Every message accepted
with 250 arrives exactly once. In the Kafka mode also when

  * one worker is killed with SIGKILL during the burst, and
  * the broker is taken down: ingress answers 4xx while it is down, accepts
    again once it is back, and nothing that got a 250 is lost.

In both modes the keyservice's certificates are rotated (SIGHUP) during the
burst: no message fails. And an MX listener verifies recipients against the
keyservice's registry: in the Kafka mode the ingress process asks it over
mutual TLS with the `ingress` role (credentials from `smimegatectl
credentials issue --role ingress`), so a user added with `smimegatectl user
add` gets 250 and an unknown one 550 5.1.1. A domain added with
`smimegatectl domain add` is accepted by the MX listener within 5 s, and
refused within 5 s after `smimegatectl domain remove`, without a restart
(issue 19; Kafka: the ingress process follows the keyservice over gRPC).

--bench N sends N messages of 10 KB from 8 concurrent clients instead and
prints the throughput (submission of the first to delivery of the last).

Usage: pipeline_test.py --queue embedded|kafka [--bench N] [--ctl smimegatectl]
                        <smimegate> <smimegate-test-broker>
"""
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

import argparse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from sgtest import free_port, wait_port  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--queue", choices=["embedded", "kafka"], required=True)
ap.add_argument("--bench", type=int, default=0)
ap.add_argument("--ctl", default="", help="smimegatectl (default: beside smimegate in the build tree)")
ap.add_argument("smimegate")
ap.add_argument("broker")
ARGS = ap.parse_args()
SMIMEGATE, BROKER, KAFKA = ARGS.smimegate, ARGS.broker, ARGS.queue == "kafka"
CTL = ARGS.ctl or os.path.join(os.path.dirname(os.path.abspath(SMIMEGATE)), "..", "smimegatectl",
                               "smimegatectl")
PARTITIONS = 4
BIG = 30 * 1000 * 1000  # the 30 MB message


class Sink:
    """Counts every delivered message by its Message-ID header."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        self.sizes = {}

    async def handle_DATA(self, server, session, envelope):
        m = re.search(rb"^Message-ID:\s*(\S+)", envelope.content, re.M | re.I)
        mid = m.group(1).decode() if m else "?"
        with self.lock:
            self.seen[mid] = self.seen.get(mid, 0) + len(envelope.rcpt_tos)
            self.sizes[mid] = len(envelope.content)
        return "250 OK"


def main():
    work = tempfile.mkdtemp(prefix="smimegate-kafka-")
    procs = {}
    sink = Sink()
    sink_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink_port,
                            server_kwargs={"data_size_limit": 64 << 20})
    controller.start()
    broker = None
    bootstrap = ""
    if KAFKA:
        topics = [f"smimegate.{t}:{PARTITIONS}" for t in ("inbound", "outbound", "deliver", "retry")]
        topics.append("smimegate.deadletter:1")
        args = [BROKER]
        for t in topics:
            args += ["--topic", t]
        broker = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        bootstrap = broker.stdout.readline().strip().split("=", 1)[1]

    def broker_cmd(cmd):
        broker.stdin.write(cmd + "\n")
        broker.stdin.flush()
        assert broker.stdout.readline().strip() == "ok", cmd

    relay_port = free_port()
    mx_port = free_port()
    config = os.path.join(work, "smimegate.yaml")
    with open(config, "w") as f:
        f.write(f"""
hosted_domains: [example.com]
log: {{level: warn}}
metrics: {{port: 0}}
queue:
  type: {ARGS.queue}
  partitions: {PARTITIONS}
  kafka:
    brokers: "{bootstrap}"
    create_topics: false
    delivery_timeout: 4s
    session_timeout: 6s
keyservice:
  {f"listen: 127.0.0.1:{free_port()}" if KAFKA else "# listen: the default Unix socket"}
  kek_file: kek
  kek_create: true
ingress:
  timeouts: {{queue_ack: 6s}}
  listeners:
    - {{name: relay, address: 127.0.0.1, port: {relay_port}, role: relay, trusted_networks: [127.0.0.0/8]}}
    - {{name: mx, address: 127.0.0.1, port: {mx_port}, role: mx, starttls: false}}
  recipient_verification:
    domains: [{{domain: example.com, sources: [registry]}}]
egress:
  outbound: {{transport: smtp, hosts: ["127.0.0.1:{sink_port}"], allowed_networks: [127.0.0.1/32]}}
""")

    def start(name, stage):
        log = open(os.path.join(work, name + ".log"), "w")
        # Every worker process needs a key cache directory of its own.
        env = dict(os.environ, SMIMEGATE__WORKERS__KEY_CACHE__PATH="key-cache-" + name)
        procs[name] = subprocess.Popen([SMIMEGATE, stage, "-c", config], stdout=log, stderr=log,
                                       env=env)

    def issue_credentials(role):
        """Once the keyservice answers: credentials for `role` where that
        stage looks for them (<data_dir>/credentials/<role>), with the admin's."""
        end = time.time() + 60
        while True:
            r = subprocess.run([CTL, "--config", config, "--timeout", "5", "credentials", "issue",
                                "--role", role, "--out", os.path.join(work, "credentials", role)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode == 0:
                return
            if time.time() > end or procs["keyservice"].poll() is not None:
                raise AssertionError(f"credentials issue failed: {r.stdout}")
            time.sleep(0.2)

    failures = []
    try:
        if KAFKA:
            start("keyservice", "keyservice")
            issue_credentials("worker")
            issue_credentials("ingress")
            start("worker1", "worker")
            start("worker2", "worker")
            start("egress", "egress")
            start("ingress", "ingress")
        else:
            start("run", "run")
        wait_port(relay_port)

        accepted = []
        lock = threading.Lock()

        def send(i, tag, body=None):
            mid = f"<{tag}-{i}@example.com>"
            msg = (f"From: alice@example.com\r\nTo: partner@example.org\r\n"
                   f"Subject: burst {i}\r\nMessage-ID: {mid}\r\n\r\n{body or f'body {i}'}\r\n")
            with smtplib.SMTP("127.0.0.1", relay_port, timeout=120) as s:
                s.sendmail("alice@example.com", ["partner@example.org"], msg)
            with lock:
                accepted.append(mid)

        if ARGS.bench:
            body = "\r\n".join(["x" * 76] * 130)  # 10 KB
            started = time.time()
            per = ARGS.bench // 8

            def client(c):
                for i in range(per):
                    send(c * per + i, "bench", body)

            threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            sent = time.time() - started
            while time.time() - started < 120:
                with sink.lock:
                    if len(sink.seen) >= len(accepted):
                        break
                time.sleep(0.01)
            took = time.time() - started
            with sink.lock:
                delivered = len(sink.seen)
            print(f"bench {ARGS.queue}: {len(accepted)} messages of 10 KB in {took:.2f} s = "
                  f"{len(accepted) / took:.1f} msg/s (submitted in {sent:.2f} s)")
            if delivered < len(accepted):
                failures.append(f"bench: only {delivered} of {len(accepted)} delivered")
            else:
                return 0

        # Recipient verification on the MX listener asks the keyservice's registry.
        r = subprocess.run([CTL, "--config", config, "--timeout", "10", "user", "add",
                            "mx-user@example.com"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            failures.append(f"user add failed: {r.stdout}")
        with smtplib.SMTP("127.0.0.1", mx_port, timeout=30) as s:
            s.ehlo("partner.example.org")
            s.mail("someone@partner.example.org")
            known = s.rcpt("mx-user@example.com")
            unknown = s.rcpt("nobody@example.com")
        if known[0] != 250:
            failures.append(f"MX: a registered user got {known}")
        if unknown[0] != 550 or b"5.1.1" not in unknown[1]:
            failures.append(f"MX: an unknown user got {unknown}")

        # Issue 19: a domain added at run time is accepted by the MX listener
        # within 5 s and refused within 5 s after its removal, without a
        # restart (Kafka: the ingress process follows the keyservice over gRPC).
        def rcpt_code(rcpt):
            with smtplib.SMTP("127.0.0.1", mx_port, timeout=30) as s:
                s.ehlo("partner.example.org")
                s.mail("someone@partner.example.org")
                return s.rcpt(rcpt)[0]

        def within_5s(rcpt, want):
            start = time.time()
            while time.time() - start < 5:
                if rcpt_code(rcpt) == want:
                    return time.time() - start
                time.sleep(0.05)
            return None

        for args, want in ((["domain", "add", "runtime.example"], 250),
                           (["domain", "remove", "runtime.example"], 550)):
            r = subprocess.run([CTL, "--config", config, "--timeout", "10", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            took = within_5s("ann@runtime.example", want) if r.returncode == 0 else None
            if took is None:
                failures.append(f"runtime domain: after `{' '.join(args)}` ({r.stdout.strip()}) "
                                f"RCPT did not answer {want} within 5 s")
            else:
                print(f"runtime domain ({ARGS.queue}): {want} {took:.2f} s after {args[1]}")

        # The largest messages flow too (Kafka: above its default record limit).
        line = "y" * 998
        big_body = "\r\n".join([line] * (BIG // 1000))
        send(0, "big", big_body)

        # Burst 1, with a worker killed in the middle of it and the
        # keyservice's certificates rotated (SIGHUP) while workers call it.
        keyservice = procs["keyservice" if KAFKA else "run"]
        keyservice_log = os.path.join(work, ("keyservice" if KAFKA else "run") + ".log")

        def reloads():
            with open(keyservice_log) as f:
                return f.read().count("SIGHUP: keyservice TLS certificates reloaded")

        def rotate():
            # Two signals sent before the first is handled are one pending
            # signal: wait for each reload before the next SIGHUP.
            want = reloads() + 1
            keyservice.send_signal(signal.SIGHUP)
            end = time.time() + 20
            while reloads() < want and time.time() < end:
                time.sleep(0.05)

        for i in range(60):
            send(i, "burst")
            if i == 20 and KAFKA:
                procs["worker1"].send_signal(signal.SIGKILL)
                procs["worker1"].wait()
            if i in (10, 30, 50):
                rotate()
        if KAFKA:
            broker_down_and_up(send, broker_cmd, failures)

        # Everything accepted arrives, exactly once.
        end = time.time() + 120
        while time.time() < end:
            with sink.lock:
                if all(m in sink.seen for m in accepted):
                    break
            time.sleep(0.5)
        time.sleep(3)  # let any duplicate show up
        with sink.lock:
            missing = [m for m in accepted if m not in sink.seen]
            twice = {m: n for m, n in sink.seen.items() if n != 1}
            big_size = sink.sizes.get("<big-0@example.com>", 0)
        if missing:
            failures.append(f"{len(missing)} accepted messages never arrived, e.g. {missing[:3]}")
        if twice:
            failures.append(f"delivered more than once: {twice}")
        if big_size < BIG:
            failures.append(f"the 30 MB message arrived with {big_size} bytes")
        if reloads() != 3:
            failures.append(f"the keyservice reloaded its certificates {reloads()} times, not 3")
        if KAFKA:
            for w in ("worker1", "worker2"):  # each its own persistent key cache
                if not os.path.exists(os.path.join(work, "key-cache-" + w, "CURRENT")):
                    failures.append(f"{w} has no key cache in key-cache-{w}")
            # smimegatectl reads the dead-letter topic straight from Kafka (issue 13 point 9).
            ctl = os.path.join(os.path.dirname(SMIMEGATE), "..", "smimegatectl", "smimegatectl")
            r = subprocess.run([ctl, "--config", config, "deadletter", "list"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or "0 dead letters held" not in r.stderr:
                failures.append(f"deadletter list over Kafka: {r.returncode} {r.stderr!r}")
            r = subprocess.run([ctl, "--config", config, "deadletter", "show", "0"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 1 or "no dead letter 0:0" not in r.stderr:
                failures.append(f"deadletter show over Kafka: {r.returncode} {r.stderr!r}")
        print(f"{ARGS.queue}: accepted {len(accepted)}, delivered {len(sink.seen)}, "
              f"duplicates {len(twice)}")
    finally:
        # An orderly shutdown: the reverse of the start order (ingress first,
        # the keyservice last), each stage given 30 s.
        for name, p in reversed(list(procs.items())):
            if p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                failures.append(f"{name} did not stop within 30 s of SIGTERM")
        if broker:
            broker.send_signal(signal.SIGTERM)
            broker.wait(timeout=10)
        controller.stop()
        if failures:
            for name in procs:
                with open(os.path.join(work, name + ".log")) as f:
                    print(f"--- {name}.log ---\n{f.read()[-3000:]}")
    if failures:
        print(f"FAIL (logs kept in {work}):\n  " + "\n  ".join(failures))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"pipeline over {ARGS.queue}: every accepted message delivered exactly once")
    return 0


def broker_down_and_up(send, broker_cmd, failures):
    """Broker down: ingress must answer 4xx, never 250; then back up."""
    broker_cmd("down 1")
    try:
        send(0, "while-down")
        failures.append("a message got 250 while the broker was down")
    except smtplib.SMTPResponseException as e:
        if not 400 <= e.smtp_code < 500:
            failures.append(f"broker down: expected 4xx, got {e.smtp_code} {e.smtp_error!r}")
    except smtplib.SMTPException as e:
        failures.append(f"broker down: unexpected {e!r}")
    broker_cmd("up 1")
    # Accepted again once the broker is back (retry while it reconnects).
    back = False
    end = time.time() + 60
    while time.time() < end and not back:
        try:
            send(0, "after-up")
            back = True
        except smtplib.SMTPResponseException as e:
            if not 400 <= e.smtp_code < 500:
                failures.append(f"after up: {e.smtp_code}")
                break
            time.sleep(1)
    if not back:
        failures.append("ingress did not accept mail again after the broker came back")
    for i in range(1, 20):
        send(i, "after-up")


if __name__ == "__main__":
    sys.exit(main())
