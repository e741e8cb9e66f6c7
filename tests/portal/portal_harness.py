"""A `smimegate run` with the web-encryption portal for the portal's tests
(portal_e2e_test.py, browser/portal_browser_test.py): fresh data dir, free
ports, Maildir sinks; send through the relay; the notification's link."""
import email
import email.policy
import http.client
import os
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

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
        self.hosted_domains = ["example.com"]  # set before start() for more tenants
        self.notification_subjects = False  # portal.defaults.subject_in_notification

    def start(self):
        config = os.path.join(self.work, "smimegate.yaml")
        with open(config, "w") as f:
            f.write(f"""
hosted_domains: [{", ".join(self.hosted_domains)}]
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
  defaults: {{subject_in_notification: {"true" if self.notification_subjects else "false"}}}
egress:
  inbound: {{transport: maildir, path: mail/inbound}}
  outbound: {{transport: maildir, path: mail/outbound}}
""")
        self.config = config
        self.launch()
        subprocess.run([self.ctl, "--home", self.work, "user", "add", "alice@example.com"],
                       check=True, stdout=subprocess.DEVNULL)

    def launch(self):
        """Starts (or restarts) `smimegate run` on the same data dir and waits until ready."""
        self.proc = subprocess.Popen([self.smimegate, "run", "--config", self.config],
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        sgtest.wait_http(f"http://127.0.0.1:{self.metrics}/readyz", timeout=60, proc=self.proc)

    def send(self, msg, to, sender="alice@example.com"):
        with smtplib.SMTP("127.0.0.1", self.relay, timeout=30) as s:
            s.send_message(msg, from_addr=sender, to_addrs=[to])

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

    def stop_process(self):
        """SIGTERM and wait; the data dir stays."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def stop(self):
        """Stops the gateway and removes its data dir."""
        self.stop_process()
        shutil.rmtree(self.work, ignore_errors=True)


class Browser:
    """HTTPS with one cookie jar, enough for the portal's pages (no Origin
    header, like a non-browser client; the real browser is in browser/)."""

    def __init__(self, port):
        self.port = port
        self.cookie = ""
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def request(self, method, path, form=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=20)
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        set_cookie = r.getheader("Set-Cookie")
        if set_cookie and set_cookie.startswith("__Host-sg_session="):
            value = set_cookie.split(";", 1)[0]
            self.cookie = "" if value.endswith("=") else value
        conn.close()
        return r.status, dict(r.getheaders()), data

    def register(self, link, password="Tundra-Kettle-Violin-42"):
        """Registers through a notification link; returns the redirect target."""
        _, _, page = self.request("GET", link)
        status, headers, _ = self.request("POST", link, {"csrf": csrf(page), "password": password,
                                                         "password2": password})
        return status, headers.get("Location", "")


def csrf(page):
    m = re.search(rb'name="csrf" value="([^"]+)"', page)
    return m.group(1).decode() if m else ""
