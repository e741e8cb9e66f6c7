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
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

CONFIG = sgtest.run_config(log_format="json")

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


fail = sgtest.fail_with_log


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
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], CONFIG, prefix="sg-json-logs-")
        with gw:
            run(gw)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path)


def run(gw):
    log_path = gw.log_path
    r = gw.ctl("user", "add", "alice@example.com")
    if r.returncode != 0:
        fail("user add: " + r.stderr, log_path)
    smtp = smtplib.SMTP("127.0.0.1", gw.ports["relay"], timeout=30)
    smtp.sendmail("alice@example.com", ["carol@remote.example"], MESSAGE.encode())
    smtp.quit()

    outbound = os.path.join(gw.home, "mail", "outbound", "new")
    sgtest.wait_until(lambda: os.path.isdir(outbound) and os.listdir(outbound), 30,
                      what="the delivery", proc=gw.proc)
    # The egress line is written right after the delivery.
    sgtest.wait_until(lambda: any(ln.get("stage") == "egress" and ln.get("action") == "delivered"
                                  for ln in parse_lines(log_path)),
                      10, what="the egress delivery line", proc=gw.proc)

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
    print(f"ok: {len(lines)} JSON lines; message {message_id} keyed at ingress, policy, "
          f"egress; keyservice issuance keyed")


if __name__ == "__main__":
    main()
