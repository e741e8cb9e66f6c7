#!/usr/bin/python3
"""Issue 18: a new user's first mail while the public CA is down, end to end
through `smimegate run` (keyservice.ca.backend: cmp).

1. The CA accepts connections and never answers (the case that held a worker
   thread for the CMP timeouts). The first outbound mail of a new user is set
   aside (not delivered, not lost); the worker is not held (the keyservice
   issues in the background and answers `unavailable` within
   keyservice.issuance.answer_within); once workers.ca_wait (4 s here) has
   passed it is delivered unsigned, per policy, to the SMTP sink, exactly
   once. Stopping the gateway does not wait for the silent CA.
2. Nothing listens at the CA's address when the mail comes; the CA
   (tests/keyservice/cmp_test_ca, a CMP CA that certifies the requested key)
   is brought up before workers.ca_wait ends: the mail is delivered signed
   (the signature verifies against the CA's root), exactly once.

The domain is validated by DNS first (a public CA backend requires it): a
dnslib server on loopback serves the TXT record `smimegatectl domain
validate` prints.

Usage: ca_down_test.py <build dir>
"""
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
CMP_TEST_CA = os.path.join(BUILD, "tests", "keyservice", "cmp_test_ca")

# sgtest.run_config() with a CMP CA that this test starts (or keeps
# silent), a DNS server for domain validation and an SMTP sink; @...@ are
# filled per scenario.
CONFIG = sgtest.run_config(
    keyservice_extra="""
    dns: {servers: ["127.0.0.1:@DNS_PORT@"], timeout: 1s}
    domain_validation: {retry_initial: 1s, retry_max: 1s}
    issuance: {answer_within: 500ms, retry_after: 1s}
    ca:
      backend: cmp
      cmp:
        url: "http://127.0.0.1:@CMP_PORT@/pkix/"
        reference: gateway-1
        secret_file: @CA_DIR@/secret
        issuing_cert_file: @CA_DIR@/issuing.pem
        root_cert_file: @CA_DIR@/root.pem
        message_timeout: 30s
        total_timeout: 60s
""",
    workers="ca_wait: @CA_WAIT@\nca_retry: 1s",
    outbound='{transport: smtp, hosts: ["127.0.0.1:@SINK_PORT@"], allowed_networks: [127.0.0.1/32]}')


class Sink:
    """Every message delivered to the SMTP sink, by Message-ID."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}  # Message-ID -> [(time, content)]

    async def handle_DATA(self, server, session, envelope):
        m = re.search(rb"^Message-ID:\s*(\S+)", envelope.content, re.M | re.I)
        mid = m.group(1).decode() if m else "?"
        with self.lock:
            self.seen.setdefault(mid, []).append((time.monotonic(), envelope.content))
        return "250 OK"

    def get(self, mid):
        with self.lock:
            return list(self.seen.get(mid, []))


class SilentCa:
    """Accepts connections on a port and never answers."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def metric(gw, pattern):
    _, text = sgtest.http_get(f"http://127.0.0.1:{gw.ports['metrics']}/metrics")
    m = re.search(r"^" + pattern + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def validate_domain(gw, dns):
    r = gw.ctl("domain", "validate", "example.com")
    if r.returncode != 0:
        sgtest.fail_with_log("domain validate: " + r.stderr + r.stdout, gw.log_path)
    name = re.search(r"name:\s+(\S+)", r.stdout).group(1)
    value = re.search(r"value:\s+(\S+)", r.stdout).group(1)
    dns.set_zone([f"{name} TXT {value}"])
    sgtest.wait_until(lambda: "valid until" in gw.ctl("domain", "list").stdout, 30,
                      what="example.com validated", proc=gw.proc)


def send(gw, mid):
    r = gw.ctl("user", "add", "alice@example.com")
    if r.returncode != 0:
        sgtest.fail_with_log("user add: " + r.stderr, gw.log_path)
    msg = (f"From: alice@example.com\r\nTo: bob@remote.example\r\nSubject: first mail\r\n"
           f"Message-ID: {mid}\r\n\r\nhello\r\n")
    smtp = smtplib.SMTP("127.0.0.1", gw.ports["relay"], timeout=30)
    smtp.sendmail("alice@example.com", ["bob@remote.example"], msg.encode())
    smtp.quit()
    return time.monotonic()


def wait_set_aside(gw, sink, mid):
    # Within 15 s: the CA's message_timeout is 30 s, so a worker that waited
    # for the CA itself (before background issuance) would not make it.
    sgtest.wait_until(lambda: metric(gw, r'smimegate_policy_ca_wait_total\{outcome="set_aside"\}') >= 1,
                      15, what="the mail set aside (the worker not held by the CA)", proc=gw.proc)
    if sink.get(mid):
        sgtest.fail_with_log("delivered before the CA answered or ca_wait passed", gw.log_path)


def is_signed(content):
    return b"multipart/signed" in content and b"pkcs7-signature" in content


def ca_silent(work, sink, sink_port, dns, ca_dir):
    """Part 1: the CA stays silent; unsigned after ca_wait, exactly once."""
    cmp_port = sgtest.free_port()
    silent = SilentCa(cmp_port)
    config = (CONFIG.replace("@DNS_PORT@", str(dns.port)).replace("@CMP_PORT@", str(cmp_port))
              .replace("@CA_DIR@", ca_dir).replace("@CA_WAIT@", "4s")
              .replace("@SINK_PORT@", str(sink_port)))
    mid = "<ca-silent-1@example.com>"
    gw = sgtest.SmimegateRun(BUILD, config, prefix="sg-ca-silent-")
    try:
        with gw:
            validate_domain(gw, dns)
            sent = send(gw, mid)
            wait_set_aside(gw, sink, mid)
            sgtest.wait_until(lambda: len(silent.conns) >= 1, 10, what="a CMP request to the CA",
                              proc=gw.proc)
            sgtest.wait_until(lambda: sink.get(mid), 30, what="the delivery after ca_wait",
                              proc=gw.proc)
            got = sink.get(mid)
            took = got[0][0] - sent
            if took < 3.5:
                sgtest.fail_with_log(f"delivered after {took:.1f} s, before ca_wait (4 s)",
                                     gw.log_path)
            if is_signed(got[0][1]):
                sgtest.fail_with_log("delivered signed by a CA that never answered", gw.log_path)
            if metric(gw, r'smimegate_policy_ca_wait_total\{outcome="ca_wait_expired"\}') != 1:
                sgtest.fail_with_log("ca_wait_expired was not counted once", gw.log_path)
            started = metric(gw, r'smimegate_keyservice_issuance_requests_total\{result="started"\}')
            if started < 1:
                sgtest.fail_with_log("no background issuance was started", gw.log_path)
            time.sleep(2)  # nothing more may arrive
            if len(sink.get(mid)) != 1:
                sgtest.fail_with_log(f"delivered {len(sink.get(mid))} times", gw.log_path)
            if "action=ca_wait" not in gw.log_text():
                sgtest.fail_with_log("no ca_wait log line", gw.log_path)
            # Stopping does not wait for the silent CA (message_timeout 30 s).
            start = time.monotonic()
            gw.proc.send_signal(signal.SIGTERM)
            gw.proc.wait(timeout=25)
            stopped = time.monotonic() - start
            if stopped > 15:
                sgtest.fail_with_log(f"stopping took {stopped:.1f} s", gw.log_path)
            print(f"ok: CA silent: set aside, delivered unsigned after {took:.1f} s, once; "
                  f"stopped in {stopped:.1f} s")
    finally:
        silent.close()


def ca_comes_up(work, sink, sink_port, dns, ca_dir):
    """Part 2: the CA comes up before ca_wait ends; delivered signed, once."""
    cmp_port = sgtest.free_port()  # nothing listens yet
    config = (CONFIG.replace("@DNS_PORT@", str(dns.port)).replace("@CMP_PORT@", str(cmp_port))
              .replace("@CA_DIR@", ca_dir).replace("@CA_WAIT@", "120s")
              .replace("@SINK_PORT@", str(sink_port)))
    mid = "<ca-up-1@example.com>"
    ca = None
    ca_log = os.path.join(work, "cmp_test_ca.log")
    gw = sgtest.SmimegateRun(BUILD, config, prefix="sg-ca-up-")
    try:
        with gw:
            validate_domain(gw, dns)
            send(gw, mid)
            wait_set_aside(gw, sink, mid)
            time.sleep(1.5)  # a few tries against the dead CA
            if sink.get(mid):
                sgtest.fail_with_log("delivered while the CA was down", gw.log_path)
            with open(ca_log, "w") as log:
                ca = subprocess.Popen([CMP_TEST_CA, "serve", ca_dir, str(cmp_port)], stdout=log,
                                      stderr=subprocess.STDOUT)
            sgtest.wait_until(lambda: sink.get(mid), 60, what="the delivery once the CA is up",
                              proc=gw.proc)
            got = sink.get(mid)
            if not is_signed(got[0][1]):
                sgtest.fail_with_log("delivered unsigned although the CA came up in time",
                                     gw.log_path)
            msg_file = os.path.join(work, "signed.eml")
            with open(msg_file, "wb") as f:
                f.write(got[0][1])
            v = subprocess.run(["openssl", "smime", "-verify", "-in", msg_file, "-CAfile",
                                os.path.join(ca_dir, "root.pem"), "-purpose", "smimesign",
                                "-out", os.devnull], capture_output=True, text=True)
            if v.returncode != 0:
                sgtest.fail_with_log("the signature does not verify against the CA's root: " +
                                     v.stderr, gw.log_path)
            time.sleep(2)  # nothing more may arrive
            if len(sink.get(mid)) != 1:
                sgtest.fail_with_log(f"delivered {len(sink.get(mid))} times", gw.log_path)
            with open(ca_log) as f:
                issued = f.read().count("issued")
            if issued != 1:
                sgtest.fail_with_log(f"the CA issued {issued} certificates, want 1", gw.log_path)
            print("ok: CA up before ca_wait: delivered signed (verifies against the CA root), once")
    finally:
        if ca is not None:
            ca.terminate()
            ca.wait(timeout=10)


def main():
    work = tempfile.mkdtemp(prefix="sg-ca-down-")
    ca_dir = os.path.join(work, "ca")
    os.makedirs(ca_dir)
    subprocess.run([CMP_TEST_CA, "init", ca_dir], check=True)
    sink = Sink()
    sink_port = sgtest.free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink_port)
    controller.start()
    try:
        with sgtest.DnsServer(work) as dns:
            ca_silent(work, sink, sink_port, dns, ca_dir)
            ca_comes_up(work, sink, sink_port, dns, ca_dir)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
