#!/usr/bin/python3
"""Issue 24: the test address, end to end through `smimegate run`.

A real SMTP client (Python smtplib) sends to the test address over STARTTLS
with SMTP AUTH on the relay listener (from a participating user, to the test
address and an outside recipient), and over a plain connection to the MX
listener. The reports that arrive at the sinks (the Maildirs of egress:
outbound tests are answered inwards, inbound tests outwards) must name the
TLS version, the AUTH identity, the listener, the tenant and the policy's
action; the outside recipient gets its signed copy, the test address
nothing. Then the cases that get no report: the null sender, an
Auto-Submitted message, our own report sent back (a loop), and a sender
over its rate limit (2 per hour here); each counted in
smimegate_test_address_messages_total{result}.

Usage: test_address_test.py <build dir>
"""
import os
import re
import smtplib
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

fail = sgtest.fail_with_log
TEST = "check@gw.example.com"
# argon2id of "test-secret" (m=1024, t=2, p=1): cheap for a test.
HASH = "$argon2id$v=19$m=1024,t=2,p=1$c21pbWVnYXRlLXNhbHQxNg$ZncemaB/TXA8ciNUbymZAfqpEAxUha4Wuw1Vkf2Mrp4"

CONFIG = """\
hosted_domains: [gw.example.com]
log: {{format: text, level: info}}
metrics: {{address: 127.0.0.1, port: {metrics}}}
queue: {{type: embedded}}
ingress:
  auth:
    users:
      - {{name: relay1, argon2: "HASH", senders: ["tenant:acme"]}}
  listeners:
    - {{name: mx, address: 127.0.0.1, port: {mx}, role: mx, starttls: false}}
    - name: relay
      address: 127.0.0.1
      port: {relay}
      role: relay
      tls: {{cert: tls/relay.pem, key: tls/relay.key}}
      require_tls: true
      auth: true
keyservice: {{listen: "127.0.0.1:{ks}", kek_file: kek, kek_create: true}}
workers:
  threads: 1
  policy:
    dsn: {{reporting_mta: gw.example.com}}
  test_address:
    enabled: true
    address: TEST
    rate_limit: {{per_sender: 2, total: 100, interval: 1h}}
egress:
  poll_interval: 5ms
  inbound: {{transport: maildir, path: mail/inbound}}
  outbound: {{transport: maildir, path: mail/outbound}}
""".replace("HASH", HASH.replace("{", "{{").replace("}", "}}")).replace("TEST", TEST)


def maildir(gw, which):
    """[(delivered_to, text)] of the Maildir mail/<which>."""
    new = os.path.join(gw.home, "mail", which, "new")
    out = []
    if os.path.isdir(new):
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), errors="replace") as f:
                text = f.read()
            m = re.search(r"^Delivered-To: (.*)$", text, re.M)
            out.append((m.group(1).strip() if m else "?", text))
    return out


def reports(gw, which):
    return [t for _, t in maildir(gw, which) if "\nX-Smimegate-Test-Report:" in t]


def counter(gw, result):
    _, text = sgtest.http_get(f"http://127.0.0.1:{gw.ports['metrics']}/metrics")
    m = re.search(r'^smimegate_test_address_messages_total\{result="%s"\} (\S+)$' % result, text, re.M)
    return float(m.group(1)) if m else 0.0


def message(sender, rcpt, mid, extra=""):
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: setup check\r\nMessage-ID: <{mid}>\r\n"
            f"{extra}\r\nSECRET-BODY of the test\r\n")


def send_relay(gw, sender, rcpts, mid):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    smtp = smtplib.SMTP("127.0.0.1", gw.ports["relay"], timeout=15)
    smtp.ehlo("client.example.com")
    smtp.starttls(context=ctx)
    smtp.ehlo("client.example.com")
    smtp.login("relay1", "test-secret")
    smtp.sendmail(sender, rcpts, message(sender, ", ".join(rcpts), mid).encode())
    version = smtp.sock.version()
    smtp.quit()
    return version


def send_mx(gw, sender, mid, extra=""):
    smtp = smtplib.SMTP("127.0.0.1", gw.ports["mx"], timeout=15)
    smtp.sendmail(sender, [TEST], message(sender or "nobody@remote.example", TEST, mid, extra).encode())
    smtp.quit()


def expect(text, needles, what, gw):
    for n in needles:
        if n not in text:
            fail(f"{what}: {n!r} missing in the report:\n{text}", gw.log_path)


def main():
    build = sys.argv[1]
    gw = sgtest.SmimegateRun(build, CONFIG, prefix="sg-taddr-")
    tls = os.path.join(gw.home, "tls")
    os.makedirs(tls)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=gw.example.com",
                    "-keyout", os.path.join(tls, "relay.key"), "-out", os.path.join(tls, "relay.pem")],
                   check=True, capture_output=True)
    with gw:
        for args in (("tenant", "add", "acme"), ("domain", "add", "example.com", "--tenant", "acme"),
                     ("user", "add", "alice@example.com")):
            r = gw.ctl(*args)
            if r.returncode != 0:
                fail(f"smimegatectl {' '.join(args)}: {r.stderr}{r.stdout}", gw.log_path)

        # 1. Outbound: STARTTLS + AUTH on the relay listener, plus an outside recipient.
        version = send_relay(gw, "alice@example.com", [TEST, "bob@remote.example"], "out-1@example.com")
        sgtest.wait_until(lambda: reports(gw, "inbound") and maildir(gw, "outbound"), 30,
                          what="the outbound report and bob's copy", proc=gw.proc)
        report = reports(gw, "inbound")[0]
        expect(report, [f"From: smimegate test address <{TEST}>", "To: <alice@example.com>",
                        "In-Reply-To: <out-1@example.com>", "Auto-Submitted: auto-replied",
                        "Content-Type: text/plain; charset=utf-8",
                        "Listener:           relay", f"TLS:                {version}",
                        "SMTP AUTH:          relay1", "Tenant:             acme (sender domain example.com)",
                        "  signed (rule: ", "Direction:          outbound"], "outbound", gw)
        if "SECRET-BODY" in report:
            fail("the report quotes the body", gw.log_path)
        delivered = [d for d, _ in maildir(gw, "outbound")] + [d for d, t in maildir(gw, "inbound")
                                                               if "X-Smimegate-Test-Report" not in t]
        if delivered != ["bob@remote.example"]:
            fail(f"delivered to {delivered}, want bob@remote.example only (never the test address)",
                 gw.log_path)
        if "multipart/signed" not in maildir(gw, "outbound")[0][1]:
            fail("bob's copy is not signed: the other recipient was not processed as usual", gw.log_path)

        # 2. Inbound: a plain connection to the MX listener.
        send_mx(gw, "peer@remote.example", "in-1@remote.example")
        sgtest.wait_until(lambda: reports(gw, "outbound"), 30, what="the inbound report", proc=gw.proc)
        report = reports(gw, "outbound")[0]
        expect(report, ["To: <peer@remote.example>", "In-Reply-To: <in-1@remote.example>",
                        "Listener:           mx", "TLS:                none",
                        "SMTP AUTH:          none",
                        "Tenant:             default (recipient domain gw.example.com)",
                        "  passed", "Direction:          inbound"], "inbound", gw)

        # 3. No report: null sender, Auto-Submitted, our own report back, over the rate limit.
        send_mx(gw, "", "null@remote.example")
        send_mx(gw, "peer@remote.example", "auto@remote.example", "Auto-Submitted: auto-replied\r\n")
        loop = reports(gw, "outbound")[0].split("\n", 2)[2]  # without Return-Path / Delivered-To
        smtp = smtplib.SMTP("127.0.0.1", gw.ports["mx"], timeout=15)
        smtp.sendmail("peer@remote.example", [TEST], loop.replace("\n", "\r\n").replace("\r\r", "\r").encode())
        smtp.quit()
        for i in range(3):  # per_sender: 2 - peer2 gets two reports, the third is refused
            send_mx(gw, "peer2@remote.example", f"rate-{i}@remote.example")
        want = {"null_sender": 1, "auto_submitted": 1, "loop": 1, "rate_limited": 1, "answered": 4}
        try:
            sgtest.wait_until(lambda: all(counter(gw, k) == v for k, v in want.items()), 30,
                              what=f"counters {want}", proc=gw.proc)
            sgtest.wait_until(lambda: len(reports(gw, "outbound")) == 3, 30,
                              what="three inbound reports", proc=gw.proc)
        except Exception as e:  # noqa: BLE001 - print the state, then fail
            got = {k: counter(gw, k) for k in want}
            fail(f"{e}: counters {got}, outbound reports {len(reports(gw, 'outbound'))}", gw.log_path)
        to = sorted(re.search(r"^To: <(.*)>", t, re.M).group(1) for t in reports(gw, "outbound"))
        if to != ["peer2@remote.example", "peer2@remote.example", "peer@remote.example"]:
            fail(f"reports went to {to}", gw.log_path)
        if "result=rate_limited" not in gw.log_text():
            fail("no log line for the rate-limited message", gw.log_path)
    print("test address: outbound (STARTTLS + AUTH) and inbound reports name TLS, AUTH, tenant "
          "and actions; null sender, auto-submitted, loop and rate limit get none")


if __name__ == "__main__":
    main()
