"""Shared helpers of the Python tests and harnesses: free ports and waiting.

Import with
    sys.path.insert(0, os.path.join(<repo>, "tests", "support"))
    import sgtest

Every wait has a deadline and says what it waited for when it gives up, so a
hung peer fails a test with a reason instead of a ctest timeout; a process
passed as `proc` that exits early fails at once with its exit code.
"""
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request


def free_port(host="127.0.0.1"):
    """A TCP port free on `host` right now (the kernel's choice for port 0).

    Another process may take it before it is used: prefer letting the server
    bind port 0 and report its port where the server supports it.
    """
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_alive(proc, what):
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"process exited ({proc.returncode}) while waiting for {what}")


def wait_until(predicate, timeout=30.0, interval=0.05, what="a condition", proc=None):
    """Calls predicate() until it returns a true value (which is returned)."""
    deadline = time.monotonic() + timeout
    while True:
        _check_alive(proc, what)
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def poll_until(predicate, timeout=30.0, interval=0.1):
    """Like wait_until, but gives up quietly: returns predicate()'s last value
    (false) after `timeout`, for tests that record a failure and go on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def wait_port(port, timeout=30.0, proc=None, host="127.0.0.1"):
    """Waits until a TCP connection to host:port succeeds."""
    def accepts():
        try:
            socket.create_connection((host, port), 0.5).close()
            return True
        except OSError:
            return False
    wait_until(accepts, timeout, what=f"port {host}:{port} to accept connections", proc=proc)


def http_get(url, timeout=5.0):
    """(status, body text) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def wait_http(url, status=200, timeout=30.0, proc=None):
    """Waits until GET url answers `status`; returns the body."""
    def answers():
        try:
            code, body = http_get(url, timeout=2.0)
        except OSError:
            return None
        return body if code == status else None
    return wait_until(answers, timeout, what=f"{url} to answer {status}", proc=proc)


def stop(proc, timeout=20.0):
    """SIGTERM, and SIGKILL when the process has not exited after `timeout` s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _PortFileServer:
    """A test server process that writes its port(s) to `self.port_file` once
    it listens; a context manager whose __exit__ stops it."""

    port_file = None
    proc = None
    stop_timeout = 10

    def _start(self, argv, timeout, what):
        """Runs argv and waits up to `timeout` s for the port file: its words."""
        self.proc = subprocess.Popen(argv)
        try:
            def words():
                if not os.path.exists(self.port_file):
                    return None
                with open(self.port_file) as f:
                    return f.read().split()
            return wait_until(words, timeout, what=what, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            stop(self.proc, timeout=self.stop_timeout)
        return False


class DnsServer(_PortFileServer):
    """The test DNS server (tests/egress/peers/dns_server.py, dnslib, UDP on a
    free loopback port) answering from a zone file in `work`.

    On entering it runs and `port` is its port; on leaving it is stopped.
    set_zone(lines) replaces the zone atomically (the server reads it again
    for every query); the line forms are the script's ("NAME TXT ...",
    "!ad", "NAME SMIMEA 3 0 0 HEX", ...). The server logs every query to
    `query_log`.
    """

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "egress", "peers",
                          "dns_server.py")

    def __init__(self, work, lines=()):
        self.zone = os.path.join(work, "zone")
        self.port_file = os.path.join(work, "dns.port")
        self.query_log = self.port_file + ".log"
        self.port = None
        self.set_zone(lines)

    def set_zone(self, lines):
        with open(self.zone + ".tmp", "w") as f:
            f.write("".join(line + "\n" for line in lines))
        os.rename(self.zone + ".tmp", self.zone)

    def __enter__(self):
        # Debian's python3-dnslib belongs to /usr/bin/python3.
        words = self._start(["/usr/bin/python3", self.SCRIPT, "--port-file", self.port_file,
                             "--zone-file", self.zone], 10, "the DNS server")
        self.port = int(words[0])
        return self


class TestSlapd(_PortFileServer):
    """The test slapd (smimegate-test-slapd from the build: OpenLDAP on free
    loopback ports, tests/support/slapd_test_server.h) set up in `work`/slapd:
    StartTLS required, `bind_dn` the only identity that may read, the entries
    of the LDIF file `ldif` below `suffix`.

    On entering it runs: `ldap_port`, `ldaps_port`, `ca_file` (its server
    certificate, the CA file to trust) and `password_file` (bind_dn's
    password); on leaving it is stopped (SIGTERM: slapd too).
    """

    stop_timeout = 20

    def __init__(self, build, work, suffix, bind_dn, ldif):
        self.dir = os.path.join(work, "slapd")
        self.port_file = os.path.join(work, "slapd.ports")
        self.ca_file = os.path.join(self.dir, "server.crt")
        self.password_file = os.path.join(self.dir, "password")
        self.argv = [os.path.join(build, "tests", "support", "smimegate-test-slapd"),
                     "--dir", self.dir, "--suffix", suffix, "--bind-dn", bind_dn,
                     "--ldif", ldif, "--port-file", self.port_file]
        self.ldap_port = self.ldaps_port = None

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        self.ldap_port, self.ldaps_port = (int(p) for p in self._start(self.argv, 60, "slapd"))
        return self


# A `smimegate run` config for SmimegateRun: hosted domain example.com, the
# relay listener trusts loopback, both directions delivered to Maildirs under
# the home directory (mail/inbound, mail/outbound; a tenant's inbound route may
# name a loopback SMTP server). The {...} fields are filled by run_config();
# {{metrics}}, {{mx}}, {{relay}}, {{ks}} by SmimegateRun.
_RUN_CONFIG = """\
hosted_domains: [example.com]
log: {{{{format: {log_format}, level: info}}}}
metrics: {{{{address: 127.0.0.1, port: {{metrics}}}}}}
queue: {{{{type: embedded}}}}
ingress:
  listeners:
    - {{{{name: mx, address: 127.0.0.1, port: {{mx}}, role: mx}}}}
    - {{{{name: relay, address: 127.0.0.1, port: {{relay}}, role: relay, trusted_networks: [127.0.0.0/8]}}}}
keyservice:
  listen: "127.0.0.1:{{ks}}"
  kek_file: kek
  kek_create: true
{keyservice}workers:
  threads: 1
{workers}  policy:
    dsn: {{{{reporting_mta: gw.example.com}}}}
{policy}egress:
  poll_interval: 5ms
  inbound: {{{{transport: maildir, path: mail/inbound, allowed_networks: [127.0.0.0/8]}}}}
  outbound: {outbound}
"""


def _block(text, indent):
    """Plain YAML lines (any common indentation) indented by `indent` spaces,
    braces doubled for SmimegateRun's format(); "" for no text."""
    lines = textwrap.dedent(text).strip("\n").splitlines()
    out = "".join((" " * indent + line if line.strip() else "") + "\n" for line in lines)
    return out.replace("{", "{{").replace("}", "}}") if text.strip() else ""


def run_config(log_format="text", keyservice_extra="", workers="", policy="",
               outbound="{transport: maildir, path: mail/outbound}"):
    """The SmimegateRun config template above.

    Plain YAML (braces not doubled), each added to its section in block style:
    keyservice_extra  more keys of `keyservice:`, e.g.
                      'directory: {grace_period: 2s}' or a multi-line block
                      (a Graph source, a CA backend);
    workers           more keys of `workers:` ('ca_wait: 5s');
    policy            more keys of `workers.policy:` ('rules: [...]');
    outbound          the value of `egress.outbound` (a flow mapping)."""
    return _RUN_CONFIG.format(log_format=log_format, keyservice=_block(keyservice_extra, 2),
                              workers=_block(workers, 2), policy=_block(policy, 4),
                              outbound=outbound.replace("{", "{{").replace("}", "}}"))


def probe_until(what, probe, done, log_path, deadline=5.0, interval=0.02):
    """Seconds from now until `done(probe())` holds, probing again and again
    (issue 19: a registry change takes effect within seconds, without a
    restart); fails with the log's tail once `deadline` seconds have passed.
    `probe` may take its own time (a message sent and its outcome awaited):
    the time returned is when the successful probe began."""
    start = time.monotonic()
    while True:
        began = time.monotonic() - start
        got = probe()
        if done(got):
            return began
        if time.monotonic() - start > deadline:
            fail_with_log(f"{what}: still {repr(got)[:200]} {time.monotonic() - start:.1f} s "
                          f"after the change (limit {deadline:g} s)", log_path)
        time.sleep(interval)


def rcpt_code(port, rcpt):
    """The reply code to RCPT TO:<rcpt> in a fresh MX session on 127.0.0.1:port."""
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    try:
        smtp.ehlo("mx.remote.example")
        code, _ = smtp.mail("sender@remote.example")
        if code != 250:
            return code
        code, _ = smtp.rcpt(rcpt)
        return code
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            pass


def seconds_until_rcpt(port, rcpt, want, log_path, deadline=5.0):
    """Seconds until RCPT TO:<rcpt> answers `want`; fails (with the log) after
    `deadline` seconds (issue 19: a registry change reaches SMTP within 5 s)."""
    return probe_until(f"RCPT TO:<{rcpt}> (want {want})", lambda: rcpt_code(port, rcpt),
                       lambda code: code == want, log_path, deadline)


def fail_with_log(msg, log_path, lines=40):
    """Prints FAIL and the tail of a log, and exits 1."""
    print("FAIL:", msg)
    try:
        with open(log_path, errors="replace") as f:
            print("--- gateway log (tail)")
            print("".join(f.readlines()[-lines:]))
    except OSError:
        pass
    sys.exit(1)


def queue_arg(argv=None):
    """The queue mode a test was started with: `--queue kafka` anywhere in
    argv (default sys.argv) gives "kafka", otherwise "embedded". One test
    file serves both modes as two ctest entries."""
    argv = sys.argv if argv is None else argv
    for i, a in enumerate(argv[:-1]):
        if a == "--queue":
            if argv[i + 1] not in ("embedded", "kafka"):
                raise SystemExit(f"--queue must be embedded or kafka, not {argv[i + 1]!r}")
            return argv[i + 1]
    return "embedded"


class SmimegateRun:
    """`smimegate run` of a build on a config, in a fresh home directory.

    `config` is a template with {metrics}, {mx}, {relay} and {ks} for free
    ports. On entering, the gateway runs and has printed "smimegate ready"
    (its stdout and stderr go to `log_path`); on leaving, it is stopped and
    the directory removed. `ctl(*args)` runs smimegatectl on the same config.

    queue="kafka": the config's `queue:` line is replaced by a Kafka queue on
    the test broker (tests/support/kafka_test_broker.cc, a real
    Kafka-protocol broker in its own process, started on entering and
    stopped on leaving; its log is `broker_log`), so the same test runs in
    the Kafka mode.
    """

    KAFKA_TOPICS = [f"smimegate.{t}:2" for t in ("inbound", "outbound", "deliver", "retry")] + [
        "smimegate.deadletter:1"]

    def __init__(self, build, config, prefix="sg-run-", queue="embedded"):
        if queue not in ("embedded", "kafka"):
            raise ValueError(f"queue must be embedded or kafka, not {queue!r}")
        self.queue = queue
        self.broker = None
        self.build = os.path.abspath(build)
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.home = os.path.join(self.work, "home")
        os.makedirs(self.home)
        self.ports = {k: free_port() for k in ("metrics", "mx", "relay", "ks")}
        self.config = os.path.join(self.home, "smimegate.yaml")
        with open(self.config, "w") as f:
            f.write(config.format(**self.ports))
        self.log_path = os.path.join(self.work, "gw.log")
        self.broker_log = os.path.join(self.work, "broker.log")
        self.proc = None

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def _start_broker(self):
        """Starts the test broker and points the config's queue at it."""
        args = [os.path.join(self.build, "tests", "support", "smimegate-test-broker")]
        for t in self.KAFKA_TOPICS:
            args += ["--topic", t]
        with open(self.broker_log, "w") as log:
            # stdin stays open (a pipe): the broker takes commands there.
            self.broker = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=log, text=True)
        line = self.broker.stdout.readline().strip()  # "bootstrap=127.0.0.1:port"
        if not line.startswith("bootstrap="):
            raise RuntimeError(f"the test broker did not start ({line!r}; see {self.broker_log})")
        kafka = ('queue: {type: kafka, partitions: 2, kafka: {brokers: "%s", create_topics: false}}'
                 % line.split("=", 1)[1])
        with open(self.config) as f:
            text = f.read()
        text, n = re.subn(r"^queue:.*$", kafka, text, count=1, flags=re.M)
        if n != 1:
            raise RuntimeError("the config has no one-line `queue:` entry to replace")
        with open(self.config, "w") as f:
            f.write(text)

    def __enter__(self):
        gw = os.path.join(self.build, "cmd", "smimegate", "smimegate")
        try:
            if self.queue == "kafka":
                self._start_broker()
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen([gw, "run", "--config", self.config], stdout=log,
                                             stderr=log, cwd=self.home)
            wait_until(lambda: "smimegate ready" in self.log_text(), 30,
                       what="'smimegate ready'", proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            stop(self.proc)
        if self.broker is not None:
            stop(self.broker)
        shutil.rmtree(self.work, ignore_errors=True)
        return False

    def send(self, listener, sender, recipients, data):
        """One message over SMTP to the listener "mx" or "relay" (smtplib)."""
        with smtplib.SMTP("127.0.0.1", self.ports[listener], timeout=30) as smtp:
            smtp.sendmail(sender, recipients, data)

    def maildir(self, which):
        """The messages (bytes) delivered to mail/<which>/new (run_config's
        Maildirs: "inbound", "outbound"), in file name order."""
        new = os.path.join(self.home, "mail", which, "new")
        out = []
        for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
            with open(os.path.join(new, name), "rb") as f:
                out.append(f.read())
        return out

    def wait_mail(self, which, marker, timeout=30.0):
        """The first message in mail/<which> containing the bytes `marker`
        (a Message-ID, say); waits up to `timeout` seconds."""
        def found():
            return next((m for m in self.maildir(which) if marker in m), None)
        return wait_until(found, timeout, what=f"{marker!r} in mail/{which}", proc=self.proc)

    def ctl(self, *args):
        ctl = os.path.join(self.build, "cmd", "smimegatectl", "smimegatectl")
        return subprocess.run([ctl, "--config", self.config, "--timeout", "10", *args],
                              capture_output=True, text=True)


def ctl_ok(gw, *args):
    """Runs smimegatectl on `gw`'s config; fails the test (with the log) unless it exits 0."""
    r = gw.ctl(*args)
    if r.returncode != 0:
        fail_with_log(f"smimegatectl {' '.join(args)}: exit {r.returncode}: {r.stderr}{r.stdout}",
                      gw.log_path)
    return r.stdout


def ctl_json(gw, *args):
    """ctl_ok with --json, parsed."""
    out = ctl_ok(gw, *args, "--json")
    try:
        return json.loads(out)
    except ValueError as e:
        fail_with_log(f"smimegatectl {' '.join(args)} --json: not JSON ({e}): {out!r}",
                      gw.log_path)
        return None


def maildir_messages(path):
    """The messages (bytes) in a Maildir's new/ directory; [] when there is none."""
    new = os.path.join(path, "new")
    if not os.path.isdir(new):
        return []
    out = []
    for name in sorted(os.listdir(new)):
        with open(os.path.join(new, name), "rb") as f:
            out.append(f.read())
    return out

