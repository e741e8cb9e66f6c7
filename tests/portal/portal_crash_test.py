#!/usr/bin/python3
"""Crash safety of web encryption (issue 17): `smimegate run` is killed with
SIGKILL while a burst of web-encryption messages is being stored; after a
restart on the same data, every message the relay accepted (250) is in the
portal exactly once (the partner's inbox lists each subject once), and each
was notified at least once with a link that opens it.

A message stored and notified but not yet marked notified when the process
died is notified again after the restart with a new link, which revokes the
first one (portal/portal_intake.cc Notify: a re-sent link replaces the one
before, as for an admin's resend). Its first link then answers 410; the
recipient uses the newer one. So the test does not take just any
notification's link: every message must have one that opens (200 with the
registration form), a link answering 410 must belong to a message notified
more than once, and the registration goes through a link that opens.

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
from portal_harness import Browser, Gateway, csrf, maildir_files  # noqa: E402

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


def notifications(gw):
    """{message number: [link, ...]} of the notifications in the Maildir."""
    out = {}
    for f in maildir_files(gw.outbound):
        raw = open(f, "rb").read()
        m = re.search(rb"burst (\d\d)", raw)
        link, _ = Gateway.link_of(raw)
        if m and link:
            out.setdefault(int(m.group(1)), []).append(link)
    return out


class LinkCheck:
    """Opens the notifications' links (each at most once while it works):
    `working` {message: a link that opens it (200, the registration form)},
    `revoked` {message: links answering 410}. A message whose every link
    answers 410 may still get its re-notification: the caller waits."""

    def __init__(self, gw):
        self.gw, self.browser = gw, Browser(gw.portal)
        self.working, self.revoked = {}, {}

    def __call__(self, accepted):
        """True once every accepted message has a link that opens."""
        for i, links in notifications(self.gw).items():
            for link in links:
                if i in self.working or link in self.revoked.get(i, []):
                    continue
                status, _, page = self.browser.request("GET", link)
                if status == 200 and csrf(page):
                    self.working[i] = link
                elif status == 410:
                    self.revoked.setdefault(i, []).append(link)
                else:
                    print(f"FAIL: the link of message {i} answered {status}")
                    print(self.gw.tail_log())
                    sys.exit(1)
        return set(accepted) <= set(self.working)

    def check_revoked(self, notified):
        """A link answers 410 only when its message was notified again."""
        for i, links in self.revoked.items():
            if len(notified[i]) < 2:
                print(f"FAIL: message {i}'s only link answers 410")
                print(self.gw.tail_log())
                sys.exit(1)


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
        sgtest.wait_until(lambda: set(accepted) <= set(notifications(gw)), timeout=60,
                          what="a notification for every accepted message", proc=gw.proc)
        links = LinkCheck(gw)
        sgtest.wait_until(lambda: links(accepted), timeout=60, interval=0.5,
                          what="a link that opens every accepted message", proc=gw.proc)
        links.check_revoked(notifications(gw))
        b, status = Browser(gw.portal), None
        for link in links.working.values():
            if b.request("GET", link)[0] == 410:
                continue  # revoked since it was checked (notified again): another message
            status, _ = b.register(link)
            break
        if status != 303:
            print(f"FAIL: registration answered {status}")
            print(gw.tail_log())
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
              f"messages in the portal exactly once ({len(listed)} listed); "
              f"re-notified messages whose first link was revoked: {sorted(links.revoked)}")
    finally:
        gw.stop()


main()
