#!/usr/bin/python3
"""Web encryption end to end over `smimegate run` (issue 17), without a browser.

A participating user (alice@example.com) sends a [confidential] message with
an attachment through the relay listener to a partner without a certificate
(partner@example.org). The workers choose web encryption, the portal stores
it and its notification goes out through the deliver queue (the outbound
Maildir). The test follows the link over HTTPS like a browser would:
registers a password, finds the message in the inbox, reads it, downloads
the attachment (same bytes) and the original .eml, replies; the reply
arrives at the internal sink (the inbound Maildir) for alice, encrypted to
her certificate. Along the way: the message's text is nowhere in the
store or the notification, a reused link is refused, a POST without the
CSRF token is refused.

Usage: portal_e2e_test.py <smimegate> <smimegatectl>
"""
import email
import email.policy
import os
import re
import sys
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from portal_harness import Browser, Gateway, csrf, maildir_files  # noqa: E402

SMIMEGATE, CTL = sys.argv[1], sys.argv[2]
SECRET = "The numbers are 4711 and 0815."
ATTACHMENT = bytes(range(256)) * 40


def fail(msg, log=None):
    print("FAIL:", msg)
    if log and os.path.exists(log):
        print(open(log).read()[-4000:])
    sys.exit(1)


def main():
    gw = Gateway(SMIMEGATE, CTL)
    work = gw.work
    try:
        gw.start()
        proc, log = gw.proc, gw.log

        msg = EmailMessage()
        msg["From"] = "Alice <alice@example.com>"
        msg["To"] = "partner@example.org"
        msg["Subject"] = "[confidential] Quarterly figures"
        msg["Message-ID"] = "<q3@example.com>"
        msg.set_content(SECRET + "\n")
        msg.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream",
                           filename="figures.bin")
        gw.send(msg, "partner@example.org")
        notes = gw.wait_notifications(1)
        if len(notes) != 1:
            fail(f"expected one notification, got {len(notes)}", log)
        raw = notes[0]
        if SECRET.encode() in raw or b"figures.bin" in raw:
            fail("the notification carries the message's content")
        link, note = Gateway.link_of(raw)
        if note.get_content_type() != "multipart/alternative":
            fail(f"notification is {note.get_content_type()}, not multipart/alternative")
        if not link:
            fail("no link in the notification:\n" + raw.decode("utf-8", "replace"))

        # Nothing of the message in clear in the portal store.
        store = os.path.join(work, "portal", "store")
        for root, _, names in os.walk(store):
            for n in names:
                with open(os.path.join(root, n), "rb") as fh:
                    if SECRET.encode() in fh.read():
                        fail(f"the message text is in clear in {n}")

        b = Browser(gw.portal)
        status, _, page = b.request("GET", link)
        if status != 200 or b"password2" not in page:
            fail(f"link page: {status}\n{page[:500]}")
        status, _, _ = b.request("POST", link, {"password": "Tundra-Kettle-Violin-42",
                                                "password2": "Tundra-Kettle-Violin-42"})
        if status != 403:
            fail(f"registration without CSRF token answered {status}")
        status, headers, _ = b.request("POST", link, {"csrf": csrf(page),
                                                      "password": "Tundra-Kettle-Violin-42",
                                                      "password2": "Tundra-Kettle-Violin-42"})
        if status != 303 or "/m/" not in headers.get("Location", ""):
            fail(f"registration answered {status} {headers}")
        message_path = headers["Location"].split("?")[0]

        status, _, inbox = b.request("GET", "/inbox")
        if status != 200 or b"Quarterly figures" not in inbox:
            fail(f"inbox: {status}")
        if b"[confidential]" in inbox:
            fail("the subject tag reached the partner")
        status, _, page = b.request("GET", message_path)
        if status != 200 or b"figures.bin" not in page:
            fail(f"message page: {status}")
        status, _, body = b.request("GET", message_path + "/body")
        if status != 200 or (SECRET.encode() not in page and SECRET.encode() not in body):
            fail(f"the message text is not shown ({status})")
        a = re.search(rb'href="(/m/[0-9a-f]{32}/a/[0-9]+)"', page)
        if not a:
            fail("no attachment link")
        status, _, data = b.request("GET", a.group(1).decode())
        if status != 200 or data != ATTACHMENT:
            fail(f"attachment: {status}, {len(data)} bytes, equal={data == ATTACHMENT}")
        status, _, eml = b.request("GET", message_path + "/eml")
        if status != 200 or b"Quarterly figures" not in eml or SECRET.encode() not in eml:
            fail(f"original .eml: {status}")

        # The link is used up.
        other = Browser(gw.portal)
        status, _, _ = other.request("GET", link)
        if status != 410:
            fail(f"reused link answered {status}")

        status, _, form = b.request("GET", message_path + "/reply")
        if status != 200 or b"alice@example.com" not in form:
            fail(f"reply form: {status}")
        status, headers, _ = b.request("POST", message_path + "/reply",
                                       {"csrf": csrf(form), "subject": "Re: Quarterly figures",
                                        "body": "Thanks, received.\n"})
        if status != 303:
            fail(f"reply answered {status}")
        sgtest.wait_until(lambda: maildir_files(gw.inbound), timeout=30, what="the reply",
                          proc=proc)
        reply = email.message_from_bytes(open(maildir_files(gw.inbound)[0], "rb").read(),
                                         policy=email.policy.default)
        if "alice@example.com" not in str(reply["To"]) or \
                "partner@example.org" not in str(reply["From"]):
            fail(f"reply headers: To {reply['To']} From {reply['From']}")
        # Encrypted to alice's certificate by the workers (the portal-reply rule).
        if reply.get_content_type() not in ("application/pkcs7-mime",
                                            "application/x-pkcs7-mime"):
            fail(f"the reply reached alice as {reply.get_content_type()}, not encrypted")
        if b"Thanks, received" in open(maildir_files(gw.inbound)[0], "rb").read():
            fail("the reply's text is in clear at the internal sink")
        print("PASS: stored, notified, registered, read, downloaded, replied")
    finally:
        gw.stop()


main()
