#!/usr/bin/python3
"""Issue 23: bounded shutdown of every stage, whatever its dependencies do.

The distributed mode (test broker, keyservice, ingress, worker, egress as
separate processes, shutdown.deadline 3s) and `smimegate run`:

  1. broker down, then SIGTERM to worker, egress and ingress: each exits
     within the deadline plus one second;
  2. the keyservice down for the worker (and then both the keyservice and the
     broker down) while it has mail to process: SIGTERM, the worker drains
     and exits in time (its keyservice calls are cancelled, not waited for);
  3. ingress with 50 SMTP sessions in mid-transaction: SIGTERM, every session
     gets 421 4.3.2, the listener closes at once, the process exits in time;
  4. a second SIGTERM exits at once (reason second_signal);
  5. after everything is restarted, every message that got a 250 is in the
     Maildir exactly once;
  6. `smimegate run` with 50 sessions in mid-transaction: 421 and in time;
  7. start-up with the broker down (worker, egress, ingress) or the keyservice
     down (worker): the stage stays up, /readyz answers 503 naming what it
     waits for, SIGTERM stops it at once, and it becomes ready when the
     dependency is back.

Each exit logs its reason (`smimegate: stopped (clean|deadline|second_signal`).

Usage: shutdown_test.py <build dir>
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

DEADLINE = 3
PARTITIONS = 2

CONFIG = """\
hosted_domains: [example.com]
log: {{level: info}}
metrics: {{port: 0}}
shutdown: {{deadline: {deadline}s}}
queue:
  type: {queue}
  partitions: {partitions}
  kafka:
    brokers: "{bootstrap}"
    create_topics: false
    delivery_timeout: 2s
    session_timeout: 6s
keyservice:
  listen: 127.0.0.1:{ks}
  kek_file: kek
  kek_create: true
ingress:
  timeouts: {{queue_ack: 2s}}
  max_connections_per_ip: 100
  listeners:
    - {{name: relay, address: 127.0.0.1, port: {relay}, role: relay, trusted_networks: [127.0.0.0/8],
        starttls: false}}
egress:
  poll_interval: 5ms
  inbound: {{transport: maildir, path: mail/inbound}}
  outbound: {{transport: maildir, path: mail/outbound}}
"""

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


class Gateway:
    def __init__(self, build, work, queue, bootstrap=""):
        self.gw = os.path.join(build, "cmd", "smimegate", "smimegate")
        self.ctl = os.path.join(build, "cmd", "smimegatectl", "smimegatectl")
        self.work = work
        self.relay = sgtest.free_port()
        self.config = os.path.join(work, "smimegate.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(deadline=DEADLINE, queue=queue, partitions=PARTITIONS,
                                  bootstrap=bootstrap, ks=sgtest.free_port(), relay=self.relay))
        self.procs = {}
        self.logs = {}
        self.runs = 0

    def start(self, name, stage, wait=True):
        """Starts a stage; returns its metrics port."""
        self.runs += 1
        path = os.path.join(self.work, f"{name}-{self.runs}.log")
        self.logs[name] = path
        port = sgtest.free_port()
        env = dict(os.environ, SMIMEGATE__WORKERS__KEY_CACHE__PATH="key-cache-" + name,
                   SMIMEGATE__METRICS__PORT=str(port))
        log = open(path, "w")
        self.procs[name] = subprocess.Popen([self.gw, stage, "-c", self.config], stdout=log,
                                            stderr=log, env=env, cwd=self.work)
        if wait:
            self.wait_ready(name)
        return port

    def log(self, name):
        with open(self.logs[name], errors="replace") as f:
            return f.read()

    def wait_ready(self, name):
        sgtest.wait_until(lambda: "smimegate ready" in self.log(name), 60,
                          what=f"{name} ready", proc=self.procs[name])

    def issue(self, role):
        def issued():
            r = subprocess.run([self.ctl, "--config", self.config, "--timeout", "5", "credentials",
                                "issue", "--role", role, "--out",
                                os.path.join(self.work, "credentials", role)],
                               capture_output=True, text=True)
            return r.returncode == 0
        sgtest.wait_until(issued, 60, interval=0.2, what=f"{role} credentials",
                          proc=self.procs["keyservice"])

    def term(self, names, again_after=None):
        """SIGTERM to each (at once); returns {name: (seconds to exit, exit code)}."""
        t0 = time.monotonic()
        for n in names:
            self.procs[n].send_signal(signal.SIGTERM)
        if again_after is not None:
            time.sleep(again_after)
            for n in names:
                self.procs[n].send_signal(signal.SIGTERM)
        out = {}
        for n in names:
            try:
                rc = self.procs[n].wait(DEADLINE + 10)
            except subprocess.TimeoutExpired:
                self.procs[n].kill()
                rc = self.procs[n].wait()
            out[n] = (time.monotonic() - t0, rc)
        return out

    def stopped_reason(self, name):
        m = re.search(r"smimegate: stopped \((\w+)", self.log(name))
        return m.group(1) if m else None

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def check_exits(gw, exits, what, clean=False):
    """Each exited within the deadline + 1 s; with `clean`, drained (not cut
    off at the deadline)."""
    for name, (took, rc) in exits.items():
        reason = gw.stopped_reason(name)
        check(took <= DEADLINE + 1.0 and reason is not None and (not clean or reason == "clean"),
              f"{what}: {name} exited after {took:.2f} s (deadline {DEADLINE:g} s + 1 s), "
              f"exit code {rc}, reason {reason}")


class Mail:
    """Sends messages through the relay listener; remembers which got a 250."""

    def __init__(self, port):
        self.port, self.acked, self.n = port, set(), 0

    def send(self, count, tag):
        for _ in range(count):
            self.n += 1
            mid = f"{tag}-{self.n}@example.com"
            msg = (f"From: alice@example.com\r\nTo: partner@example.org\r\nSubject: {tag}\r\n"
                   f"Message-ID: <{mid}>\r\n\r\nbody\r\n")
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=15) as s:
                    s.sendmail("alice@example.com", ["partner@example.org"], msg)
                self.acked.add(mid)
            except (OSError, smtplib.SMTPException):
                pass


def delivered(maildir):
    counts = {}
    new = os.path.join(maildir, "new")
    for name in os.listdir(new) if os.path.isdir(new) else []:
        with open(os.path.join(new, name), "rb") as f:
            m = re.search(rb"^Message-ID: <(.*?)>", f.read(), re.M | re.I)
        if m:
            counts[m.group(1).decode()] = counts.get(m.group(1).decode(), 0) + 1
    return counts


def mid_transaction_sessions(port, n, term):
    """n sessions after MAIL and RCPT; term() is called; each must then get
    421 4.3.2 (unprompted, or as the answer to DATA)."""
    sessions = []
    for _ in range(n):
        s = smtplib.SMTP("127.0.0.1", port, timeout=DEADLINE + 5)
        s.ehlo("client.example.com")
        s.mail("alice@example.com")
        s.rcpt("partner@example.org")
        sessions.append(s)
    result = term()
    got = []
    lock = threading.Lock()

    def read(s):
        try:
            code, text = s.getreply()
        except (OSError, smtplib.SMTPException) as e:
            code, text = 0, str(e).encode()
        with lock:
            got.append((code, text))

    threads = [threading.Thread(target=read, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in sessions:
        try:
            s.close()
        except OSError:
            pass
    ok = [g for g in got if g[0] == 421 and b"4.3.2" in g[1]]
    return result, ok, got


def waiting_for(gw, name, port, reason):
    """The stage runs, and /readyz is 503 naming `reason`."""
    def answers():
        try:
            code, body = sgtest.http_get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except OSError:
            return None
        return code == 503 and reason in body
    try:
        sgtest.wait_until(answers, 30, what=f"{name} /readyz naming {reason!r}", proc=gw.procs[name])
        return gw.procs[name].poll() is None
    except (TimeoutError, RuntimeError) as e:
        print(f"  {name}: {e}")
        return False


def becomes_ready(gw, name, port):
    try:
        gw.wait_ready(name)
        sgtest.wait_http(f"http://127.0.0.1:{port}/readyz", 200, 30, proc=gw.procs[name])
        return True
    except (TimeoutError, RuntimeError) as e:
        print(f"  {name}: {e}")
        return False


def listener_closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return False
    except OSError:
        return True


def kafka_part(build, root):
    work = os.path.join(root, "kafka")
    os.makedirs(work)
    broker_bin = os.path.join(build, "tests", "support", "smimegate-test-broker")
    args = [broker_bin]
    for t in ("inbound", "outbound", "deliver", "retry"):
        args += ["--topic", f"smimegate.{t}:{PARTITIONS}"]
    args += ["--topic", "smimegate.deadletter:1"]
    broker = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def broker_cmd(cmd):
        broker.stdin.write(cmd + "\n")
        broker.stdin.flush()
        assert broker.stdout.readline().strip() == "ok", cmd

    bootstrap = broker.stdout.readline().strip().split("=", 1)[1]
    gw = Gateway(build, work, "kafka", bootstrap)
    mail = Mail(gw.relay)
    outbound = os.path.join(work, "mail", "outbound")
    try:
        gw.start("keyservice", "keyservice")
        gw.issue("worker")
        for stage in ("worker", "egress", "ingress"):
            gw.start(stage, stage)
        mail.send(10, "before")
        sgtest.wait_until(lambda: mail.acked <= set(delivered(outbound)), 60,
                          what="the first messages delivered")

        # 1. The broker down, then SIGTERM to every Kafka stage.
        broker_cmd("down 1")
        time.sleep(0.5)
        check_exits(gw, gw.term(["worker", "egress", "ingress"]), "broker down")

        # 5 (part). Everything back: what got a 250 arrives.
        broker_cmd("up 1")
        for stage in ("worker", "egress", "ingress"):
            gw.start(stage, stage)
        mail.send(10, "after-broker")

        # 2. The keyservice down for the worker, with mail to process.
        check_exits(gw, gw.term(["keyservice"]), "keyservice")
        mail.send(5, "ks-down")
        time.sleep(1.0)
        check_exits(gw, gw.term(["worker"]), "keyservice down", clean=True)
        gw.start("keyservice", "keyservice")
        gw.start("worker", "worker")
        mail.send(5, "ks-down-2")
        check_exits(gw, gw.term(["keyservice"]), "keyservice")
        mail.send(5, "ks-down-3")
        broker_cmd("down 1")
        time.sleep(1.0)
        check_exits(gw, gw.term(["worker"]), "keyservice and broker down", clean=True)
        broker_cmd("up 1")
        gw.start("keyservice", "keyservice")

        gw.start("worker", "worker")

        # 3. Ingress with 50 sessions in mid-transaction.
        def term_ingress():
            t0 = time.monotonic()
            gw.procs["ingress"].send_signal(signal.SIGTERM)
            time.sleep(0.2)
            return t0
        t0, ok, got = mid_transaction_sessions(gw.relay, 50, term_ingress)
        closed = listener_closed(gw.relay)
        try:
            rc = gw.procs["ingress"].wait(DEADLINE + 5)
        except subprocess.TimeoutExpired:
            gw.procs["ingress"].kill()
            rc = gw.procs["ingress"].wait()
        took = time.monotonic() - t0
        check(len(ok) == 50, f"ingress: {len(ok)} of 50 sessions in mid-transaction got 421 4.3.2 "
                             f"(others: {[g for g in got if g[0] != 421][:3]})")
        check(closed, "ingress: the listener closed at once on SIGTERM")
        check(took <= DEADLINE + 1.0, f"ingress with 50 sessions exited after {took:.2f} s (code {rc})")

        # 7. Start-up with the broker down: every Kafka stage stays up, not
        # ready, naming the brokers; a SIGTERM stops it at once; once the
        # broker is back each becomes ready.
        # Bounded, not necessarily clean: the worker restarted above may still
        # be joining its consumer group (slow on a loaded machine), and a
        # consumer in the middle of a join cannot leave within close_timeout;
        # the deadline then ends it (seen in about one run in three with a
        # fuzzer holding one of two cores). The "all up" step at the end
        # requires a clean drain of every stage.
        check_exits(gw, gw.term(["worker", "egress"]), "before the start-up checks")
        broker_cmd("down 1")
        ports = {st: gw.start(st, st, wait=False) for st in ("worker", "egress", "ingress")}
        for st, port in ports.items():
            check(waiting_for(gw, st, port, "waiting for the Kafka brokers"),
                  f"start-up, broker down: {st} is up and /readyz says it waits for the brokers")
        check_exits(gw, gw.term(["egress"]), "start-up, broker down: SIGTERM", clean=True)
        ports["egress"] = gw.start("egress", "egress", wait=False)
        time.sleep(1.0)
        broker_cmd("up 1")
        for st, port in ports.items():
            check(becomes_ready(gw, st, port), f"start-up: {st} ready once the broker is back")
        # ... and with the keyservice down for a starting worker.
        check_exits(gw, gw.term(["worker", "keyservice"]), "before the keyservice start-up check")
        port = gw.start("worker", "worker", wait=False)
        check(waiting_for(gw, "worker", port, "waiting for the keyservice"),
              "start-up, keyservice down: the worker is up and /readyz says it waits for it")
        gw.start("keyservice", "keyservice")
        check(becomes_ready(gw, "worker", port), "start-up: the worker is ready once the "
                                                 "keyservice is back")

        # 5. Everything up again: every 250 delivered exactly once.
        mail.send(5, "end")
        try:
            sgtest.wait_until(lambda: mail.acked <= set(delivered(outbound)), 60,
                              what="every acknowledged message delivered")
        except TimeoutError:
            pass
        counts = delivered(outbound)
        missing = sorted(mail.acked - set(counts))
        dups = sorted(m for m, c in counts.items() if c > 1)
        check(not missing and not dups and len(mail.acked) >= 30,
              f"Kafka: {len(mail.acked)} messages got a 250; missing {missing[:5]}, "
              f"twice {dups[:5]}")
        exits = gw.term(["ingress", "worker", "egress", "keyservice"])
        check_exits(gw, exits, "all up")
        check(all(gw.stopped_reason(n) == "clean" for n in exits),
              "all up: every stage drained cleanly: " +
              ", ".join(f"{n} {gw.stopped_reason(n)}" for n in exits))
    finally:
        gw.stop_all()
        broker.terminate()
        broker.wait()
        if failures:
            for name, path in gw.logs.items():
                print(f"--- {name} log (tail)")
                with open(path, errors="replace") as f:
                    print("".join(f.readlines()[-15:]))


def run_part(build, root):
    work = os.path.join(root, "run")
    os.makedirs(work)
    gw = Gateway(build, work, "embedded")
    try:
        gw.start("run", "run")

        def term():
            t0 = time.monotonic()
            gw.procs["run"].send_signal(signal.SIGTERM)
            time.sleep(0.2)
            return t0
        t0, ok, got = mid_transaction_sessions(gw.relay, 50, term)
        try:
            rc = gw.procs["run"].wait(DEADLINE + 5)
        except subprocess.TimeoutExpired:
            gw.procs["run"].kill()
            rc = gw.procs["run"].wait()
        took = time.monotonic() - t0
        check(len(ok) == 50, f"smimegate run: {len(ok)} of 50 sessions got 421 4.3.2")
        check(took <= DEADLINE + 1.0,
              f"smimegate run with 50 sessions exited after {took:.2f} s (code {rc}, "
              f"reason {gw.stopped_reason('run')})")

        # 4. A second SIGTERM while the sessions drain exits at once.
        gw.start("run", "run")
        sessions = []
        for _ in range(5):
            s = smtplib.SMTP("127.0.0.1", gw.relay, timeout=DEADLINE + 5)
            s.ehlo("client.example.com")
            s.mail("alice@example.com")
            s.rcpt("partner@example.org")
            sessions.append(s)
        exits = gw.term(["run"], again_after=0.3)
        took, rc = exits["run"]
        check(took < 1.3 and rc == 3 and gw.stopped_reason("run") == "second_signal",
              f"second SIGTERM: smimegate run exited after {took:.2f} s, code {rc}, "
              f"reason {gw.stopped_reason('run')}")
        for s in sessions:
            s.close()
    finally:
        gw.stop_all()
        if failures:
            print("--- run log (tail)")
            with open(gw.logs["run"], errors="replace") as f:
                print("".join(f.readlines()[-15:]))


def main():
    build = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="sg-shutdown-")
    try:
        run_part(build, root)
        kafka_part(build, root)
    finally:
        if os.environ.get("KEEP"):
            print("kept", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if failures:
        print(f"{len(failures)} checks failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
