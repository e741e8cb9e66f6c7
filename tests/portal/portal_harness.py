"""A `smimegate run` with the web-encryption portal for the portal's tests
(portal_e2e_test.py, browser/portal_browser_test.py): fresh data dir, free
ports, Maildir sinks; send through the relay; the notification's link."""
import email
import email.policy
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402


def maildir_files(path):
    new = os.path.join(path, "new")
    return sorted(os.path.join(new, f) for f in os.listdir(new)) if os.path.isdir(new) else []


class Gateway:
    def __init__(self, smimegate, ctl):
        self.smimegate, self.ctl = smimegate, ctl
        self.work = tempfile.mkdtemp(prefix="smimegate-portal-")
        self.log = os.path.join(self.work, "smimegate.log")
        self.proc = None
        self.relay, self.metrics, self.portal = (sgtest.free_port(), sgtest.free_port(),
                                                 sgtest.free_port())
        self.outbound = os.path.join(self.work, "mail", "outbound")
        self.inbound = os.path.join(self.work, "mail", "inbound")

    def start(self):
        config = os.path.join(self.work, "smimegate.yaml")
        with open(config, "w") as f:
            f.write(f"""
hosted_domains: [example.com]
log: {{level: info}}
metrics: {{port: {self.metrics}}}
queue: {{type: embedded}}
keyservice: {{kek_file: kek, kek_create: true}}
ingress:
  listeners:
    - {{name: relay, address: 127.0.0.1, port: {self.relay}, role: relay, trusted_networks: [127.0.0.0/8]}}
workers:
  policy: {{web_encryption: true}}
portal:
  enabled: true
  port: {self.portal}
  hostname: localhost
  kek_file: portal/kek
  kek_create: true
egress:
  inbound: {{transport: maildir, path: mail/inbound}}
  outbound: {{transport: maildir, path: mail/outbound}}
""")
        self.proc = subprocess.Popen([self.smimegate, "run", "--config", config],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        sgtest.wait_http(f"http://127.0.0.1:{self.metrics}/readyz", timeout=60, proc=self.proc)
        subprocess.run([self.ctl, "--home", self.work, "user", "add", "alice@example.com"],
                       check=True, stdout=subprocess.DEVNULL)

    def send(self, msg, to):
        with smtplib.SMTP("127.0.0.1", self.relay, timeout=30) as s:
            s.send_message(msg, from_addr="alice@example.com", to_addrs=[to])

    def wait_notifications(self, n):
        sgtest.wait_until(lambda: len(maildir_files(self.outbound)) >= n, timeout=30,
                          what=f"{n} notification(s)", proc=self.proc)
        return [open(f, "rb").read() for f in maildir_files(self.outbound)]

    @staticmethod
    def link_of(raw):
        """(path of the one-time link, parsed notification) of a notification."""
        note = email.message_from_bytes(raw, policy=email.policy.default)
        text = note.get_body(preferencelist=("plain",)).get_content()
        m = re.search(r"https://[^/\s]+(/l/[A-Za-z0-9_-]{43})", text)
        return (m.group(1) if m else ""), note

    def tail_log(self):
        return open(self.log).read()[-4000:] if os.path.exists(self.log) else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.work, ignore_errors=True)
