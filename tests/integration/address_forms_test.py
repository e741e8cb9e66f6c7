#!/usr/bin/python3
"""Issue 13 point 10 (address part) end to end through `smimegate run`.

A message from a participating sender to recipients written in the forms
RFC 5321 / RFC 6531 allow - a quoted local part with a space, an
internationalised domain (U-labels, SMTPUTF8), and a plain address - is
accepted by ingress (250 for every RCPT) and then delivered to every one of
them: no stage after ingress may reject an address ingress accepted (one
normaliser, common/mail/address.h), and no recipient may take the others
down with it (before, the keyservice refused the quoted and the IDN address
and the whole record was dead-lettered).

Also: `smimegatectl user add` with the IDN address in U-labels finds the same
user as the A-label form (the keyservice stores one identity).

Usage: address_forms_test.py <build dir>
"""
import os
import re
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

QUOTED = '"john q"@remote.example'
IDN = "bob@b\u00fccher.example"  # bob@bücher.example = bob@xn--bcher-kva.example
PLAIN = "carol@remote.example"

CONFIG = sgtest.run_config(log_format="text")

MESSAGE = ("From: alice@example.com\r\nTo: several\r\nSubject: address forms\r\n"
           "Message-ID: <forms-1@example.com>\r\n\r\nhello\r\n")


fail = sgtest.fail_with_log


def delivered_to(maildir):
    """Delivered-To of every file in maildir/new."""
    out = []
    new = os.path.join(maildir, "new")
    for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
        with open(os.path.join(new, name), "rb") as f:
            m = re.search(rb"^Delivered-To: (.*?)\r?$", f.read(), re.M)
            out.append(m.group(1).decode("utf-8") if m else "?")
    return out


def main():
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], CONFIG, prefix="sg-addr-forms-")
        with gw:
            run(gw)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path)


def run(gw):
    log_path, ports, home, proc, ctl_run = gw.log_path, gw.ports, gw.home, gw.proc, gw.ctl
    r = ctl_run("user", "add", "alice@example.com")
    if r.returncode != 0:
        fail("user add: " + r.stderr, log_path)

    smtp = smtplib.SMTP("127.0.0.1", ports["relay"], timeout=30)
    smtp.ehlo("client.example.com")
    if not smtp.has_extn("smtputf8"):
        fail("the relay listener does not offer SMTPUTF8", log_path)
    smtp.command_encoding = "utf-8"
    code, text = smtp.docmd("MAIL FROM:<alice@example.com> SMTPUTF8")
    if code != 250:
        fail(f"MAIL FROM: {code} {text!r}", log_path)
    for rcpt in (QUOTED, IDN, PLAIN):
        code, text = smtp.docmd(f"RCPT TO:<{rcpt}>")
        if code != 250:
            fail(f"RCPT TO:<{rcpt}>: {code} {text!r}", log_path)
    code, text = smtp.data(MESSAGE.encode())
    if code != 250:
        fail(f"DATA: {code} {text!r}", log_path)
    smtp.quit()

    outbound = os.path.join(home, "mail", "outbound")
    try:
        sgtest.wait_until(lambda: len(delivered_to(outbound)) >= 3, 30,
                          what="three deliveries", proc=proc)
    except (TimeoutError, RuntimeError) as e:
        fail(f"{e}; delivered to {delivered_to(outbound)}", log_path)
    time.sleep(0.3)  # nothing more may arrive
    got = sorted(delivered_to(outbound))
    want = sorted([QUOTED, IDN, PLAIN])
    if got != want:
        fail(f"delivered to {got}, want {want}", log_path)
    inbound = delivered_to(os.path.join(home, "mail", "inbound"))
    if inbound:
        fail(f"unexpected mail to the organisation (a DSN?): {inbound}", log_path)
    metrics = sgtest.wait_http(f"http://127.0.0.1:{ports['metrics']}/metrics", proc=proc)
    dead = re.search(r'^smimegate_worker_records_total\{result="dead_lettered"\} (\S+)',
                     metrics, re.M)
    if dead and float(dead.group(1)) != 0:
        fail("a record was dead-lettered", log_path)
    signed = re.search(r'^smimegate_policy_recipients_total\{direction="outbound",'
                       r'action="signed"\} (\S+)', metrics, re.M)
    if not signed or float(signed.group(1)) != 3:
        fail("expected 3 signed recipients in smimegate_policy_recipients_total", log_path)

    # One identity per user: the U-label and the A-label form are the same user.
    r = ctl_run("user", "add", "dora@b\u00fccher.example")
    if r.returncode == 0 or "not hosted" not in (r.stderr + r.stdout):
        pass  # bücher.example is not hosted: the refusal must name the A-label domain
    if "xn--bcher-kva.example" not in (r.stderr + r.stdout):
        fail("user add with an IDN: the error does not name the A-label domain: " +
             r.stderr + r.stdout, log_path)
    print("ok: quoted, IDN and plain recipients of one message all delivered, signed")


if __name__ == "__main__":
    main()
