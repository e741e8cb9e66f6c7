#!/usr/bin/python3
"""Crash safety of web encryption (issue 17): `smimegate run` is killed with
SIGKILL while a burst of web-encryption messages is being stored; after a
restart on the same data, every message the relay accepted (250) is in the
portal exactly once (the partner's inbox lists each subject once), and each
was notified at least once.

Usage: portal_crash_test.py <smimegate> <smimegatectl>
"""
import os
import re
import signal
import smtplib
import sys
import threading
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402
from portal_harness import Browser, Gateway, maildir_files  # noqa: E402

N = 40  # below the inbox page size (50): one page shows them all


def burst(gw, accepted):
    try:
        with smtplib.SMTP("127.0.0.1", gw.relay, timeout=30) as s:
            for i in range(N):
                m = EmailMessage()
                m["From"], m["To"] = "alice@example.com", "partner@example.org"
                m["Subject"] = f"[confidential] burst {i:02d}"
                m.set_content(f"message {i}\n" + "x" * 2000)
                s.send_message(m, from_addr="alice@example.com", to_addrs=["partner@example.org"])
                accepted.append(i)
    except (smtplib.SMTPException, OSError):
        pass  # the gateway was killed: what got no 250 was not accepted


def notified_subjects(gw):
    found = set()
    for f in maildir_files(gw.outbound):
        m = re.search(rb"burst (\d\d)", open(f, "rb").read())
        if m:
            found.add(int(m.group(1)))
    return found


def main():
    gw = Gateway(sys.argv[1], sys.argv[2])
    # Which message a notification is for is read from its subject.
    gw.notification_subjects = True
    try:
        gw.start()
        accepted = []
        sender = threading.Thread(target=burst, args=(gw, accepted))
        sender.start()
        sgtest.wait_until(lambda: len(maildir_files(gw.outbound)) >= 8, timeout=60,
                          what="the first notifications", proc=gw.proc)
        at_kill = len(maildir_files(gw.outbound))
        os.kill(gw.proc.pid, signal.SIGKILL)
        gw.proc.wait()
        sender.join(timeout=60)
        killed_after = len(accepted)
        gw.launch()
        if killed_after == N:
            print("note: the whole burst was accepted before the kill")
        sgtest.wait_until(lambda: set(accepted) <= notified_subjects(gw), timeout=60,
                          what="a notification for every accepted message", proc=gw.proc)
        link = ""
        for f in maildir_files(gw.outbound):
            link, _ = Gateway.link_of(open(f, "rb").read())
            if link:
                break
        b = Browser(gw.portal)
        status, _ = b.register(link)
        if status != 303:
            print(f"FAIL: registration answered {status}")
            sys.exit(1)
        _, _, inbox = b.request("GET", "/inbox")
        listed = [int(x) for x in re.findall(rb">burst (\d\d)<", inbox)]
        bad = [i for i in accepted if listed.count(i) != 1]
        dup = [i for i in set(listed) if listed.count(i) > 1]
        if bad or dup:
            print(f"FAIL: accepted {sorted(accepted)}; in the portal {sorted(listed)}; "
                  f"not exactly once: {bad}, duplicates: {dup}")
            print(gw.tail_log())
            sys.exit(1)
        print(f"PASS: killed with {at_kill} notifications out and {killed_after} of {N} accepted; "
              f"{len(accepted)} accepted "
              f"messages in the portal exactly once ({len(listed)} listed)")
    finally:
        gw.stop()


main()
