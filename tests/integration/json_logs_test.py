#!/usr/bin/python3
"""Logs as data (issue 16 point 8) end to end through `smimegate run`.

With log.format json, one outbound message through the whole pipeline: every
line the gateway writes is one JSON object, and the lines about the message
carry its queue id as the key message_id at every stage, with the stage's
own keys beside it:

  ingress     message_id direction from rcpts peer status=accepted
  policy      message_id direction from rcpt action rule form
  egress      message_id direction rcpt action=delivered peer status
  keyservice  action=issued address key_id (the sender's key, first use)

Usage: json_logs_test.py <build dir>
"""
import json
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

CONFIG = """\
hosted_domains: [example.com]
log: {{format: json, level: info}}
metrics: {{address: 127.0.0.1, port: {metrics}}}
queue: {{type: embedded}}
ingress:
  listeners:
    - {{name: mx, address: 127.0.0.1, port: {mx}, role: mx}}
    - {{name: relay, address: 127.0.0.1, port: {relay}, role: relay, trusted_networks: [127.0.0.0/8]}}
keyservice: {{listen: "127.0.0.1:{ks}", kek_file: kek, kek_create: true}}
workers:
  threads: 1
  policy:
    dsn: {{reporting_mta: gw.example.com}}
egress:
  poll_interval: 5ms
  inbound: {{transport: maildir, path: mail/inbound}}
  outbound: {{transport: maildir, path: mail/outbound}}
"""

MESSAGE = ("From: alice@example.com\r\nTo: carol@remote.example\r\nSubject: json logs\r\n"
           "Message-ID: <json-logs-1@example.com>\r\n\r\nhello\r\n")

# stage -> keys its line about the message must carry (besides message_id).
WANT = {
    "ingress": {"direction": "outbound", "from": "alice@example.com", "rcpts": 1,
                "peer": "127.0.0.1", "status": "accepted"},
    "policy": {"direction": "outbound", "from": "alice@example.com",
               "rcpt": "carol@remote.example", "action": None, "rule": None, "form": None},
    "egress": {"direction": "outbound", "rcpt": "carol@remote.example", "action": "delivered",
               "peer": None, "status": None},
}


def fail(msg, log_path):
    print("FAIL:", msg)
    try:
        with open(log_path, errors="replace") as f:
            print("--- gateway log (tail)")
            print("".join(f.readlines()[-40:]))
    except OSError:
        pass
    sys.exit(1)


def parse_lines(log_path):
    """Every log line as a JSON object; a line that is not one fails the test.
    (The "smimegate ready" banner is printed, not logged, on the same stdout.)"""
    lines = []
    with open(log_path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if raw.startswith(b"smimegate ready: "):
                continue
            try:
                obj = json.loads(raw)
            except ValueError as e:
                fail(f"log line {number} is not JSON ({e}): {raw[:200]!r}", log_path)
            if not isinstance(obj, dict) or not {"ts", "level", "msg"} & obj.keys():
                fail(f"log line {number} is not a log object: {raw[:200]!r}", log_path)
            lines.append(obj)
    return lines


def check_stage(lines, stage, message_id, want, log_path):
    about = [ln for ln in lines if ln.get("stage") == stage and ln.get("message_id") == message_id]
    if not about:
        fail(f"no {stage} line with message_id {message_id}", log_path)
    for ln in about:
        if all(k in ln and (v is None or ln[k] == v) for k, v in want.items()):
            return ln
    fail(f"no {stage} line about {message_id} with {want}; got {about}", log_path)


def main():
    build = os.path.abspath(sys.argv[1])
    gw = os.path.join(build, "cmd", "smimegate", "smimegate")
    ctl = os.path.join(build, "cmd", "smimegatectl", "smimegatectl")
    work = tempfile.mkdtemp(prefix="sg-json-logs-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    ports = {k: sgtest.free_port() for k in ("metrics", "mx", "relay", "ks")}
    config = os.path.join(home, "smimegate.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(**ports))
    log_path = os.path.join(work, "gw.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([gw, "run", "--config", config], stdout=log, stderr=log, cwd=home)
    try:
        def ready():
            with open(log_path, errors="replace") as f:
                return "smimegate ready" in f.read()
        try:
            sgtest.wait_until(ready, 30, what="'smimegate ready'", proc=proc)
        except (TimeoutError, RuntimeError) as e:
            fail(str(e), log_path)
        r = subprocess.run([ctl, "--config", config, "--timeout", "10", "user", "add",
                            "alice@example.com"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("user add: " + r.stderr, log_path)

        smtp = smtplib.SMTP("127.0.0.1", ports["relay"], timeout=30)
        smtp.sendmail("alice@example.com", ["carol@remote.example"], MESSAGE.encode())
        smtp.quit()

        outbound = os.path.join(home, "mail", "outbound", "new")
        try:
            sgtest.wait_until(lambda: os.path.isdir(outbound) and os.listdir(outbound), 30,
                              what="the delivery", proc=proc)
            # The egress line is written right after the delivery.
            sgtest.wait_until(lambda: any(ln.get("stage") == "egress" and
                                          ln.get("action") == "delivered"
                                          for ln in parse_lines(log_path)),
                              10, what="the egress delivery line", proc=proc)
        except (TimeoutError, RuntimeError) as e:
            fail(str(e), log_path)

        lines = parse_lines(log_path)
        accepted = [ln for ln in lines if ln.get("stage") == "ingress" and
                    ln.get("status") == "accepted"]
        if len(accepted) != 1 or not accepted[0].get("message_id"):
            fail(f"want one ingress 'accepted' line with a message_id, got {accepted}", log_path)
        message_id = accepted[0]["message_id"]
        for stage, want in WANT.items():
            check_stage(lines, stage, message_id, want, log_path)
        issued = [ln for ln in lines if ln.get("stage") == "keyservice" and
                  ln.get("action") == "issued" and ln.get("address") == "alice@example.com"]
        if not issued or not issued[0].get("key_id"):
            fail("no keyservice 'issued' line for alice@example.com with a key_id", log_path)
        if not re.fullmatch(r"\S+", message_id):
            fail(f"odd message_id {message_id!r}", log_path)
        print(f"ok: {len(lines)} JSON lines; message {message_id} keyed at ingress, policy, "
              f"egress; keyservice issuance keyed")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
