#!/usr/bin/python3
"""The portal follows the tenants' branding over `smimegate run` (issue 19,
docs/tenants.md "Branding"): the real keyservice registry, the registry
follower and the portal in one process.

A tenant acme with the domain acme.example and a branding (product name,
sender name and address, colour, support, an SVG logo) set with
smimegatectl; bob@acme.example sends a [confidential] message to a partner
without a certificate: the notification and the link page carry acme's
branding, the logo is served as image/svg+xml, sandboxed. alice@example.com
(the default tenant, no branding) gets the config's product name. A changed
branding shows in the next notification without a restart.

Usage: portal_tenant_branding_e2e_test.py <smimegate> <smimegatectl>
"""
import email
import email.policy
import os
import subprocess
import sys
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from portal_harness import Browser, Gateway, maildir_files  # noqa: E402

SMIMEGATE, CTL = sys.argv[1], sys.argv[2]
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4">'
        b'<rect width="4" height="4" fill="#ab12cd"/></svg>')


def fail(msg, gw=None):
    print("FAIL:", msg)
    if gw:
        print(gw.tail_log())
    sys.exit(1)


def ctl(gw, *args):
    r = subprocess.run([CTL, "--home", gw.work, *args], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"smimegatectl {' '.join(args)}: {r.returncode} {r.stdout} {r.stderr}", gw)


def confidential(sender, subject):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "partner@example.org"
    msg["Subject"] = "[confidential] " + subject
    msg.set_content("Secret figures.\n")
    return msg


def note_for(gw, n, subject_hint):
    """The n-th notification (1-based, in arrival order), decoded."""
    sgtest.wait_until(lambda: len(maildir_files(gw.outbound)) >= n, timeout=30,
                      what=f"{n} notification(s)", proc=gw.proc)
    files = sorted(maildir_files(gw.outbound), key=os.path.getmtime)
    raw = open(files[n - 1], "rb").read()
    note = email.message_from_bytes(raw, policy=email.policy.default)
    text = note.get_body(preferencelist=("plain",)).get_content()
    html = note.get_body(preferencelist=("html",)).get_content()
    return note, text, html


def main():
    gw = Gateway(SMIMEGATE, CTL)
    try:
        gw.start()
        logo = os.path.join(gw.work, "acme.svg")
        with open(logo, "wb") as f:
            f.write(LOGO)
        ctl(gw, "tenant", "add", "acme", "--name", "Acme Ltd")
        ctl(gw, "domain", "add", "acme.example", "--tenant", "acme")
        ctl(gw, "user", "add", "bob@acme.example")
        ctl(gw, "tenant", "branding", "set", "acme", "--product-name", "Acme Secure Post",
            "--sender-name", "Acme Notifications", "--sender-address", "notify@acme.example",
            "--color", "#ab12cd", "--support", "help@acme.example", "--logo", logo)

        # The domain reaches ingress through the follower within seconds.
        def sent():
            try:
                gw.send(confidential("bob@acme.example", "Acme figures"), "partner@example.org",
                        sender="bob@acme.example")
                return True
            except Exception:  # refused until ingress knows the domain
                return False
        sgtest.wait_until(sent, timeout=20, what="acme.example accepted", proc=gw.proc)
        note, text, html = note_for(gw, 1, "Acme")
        if "Acme Notifications" not in str(note["From"]) or \
                "notify@acme.example" not in str(note["From"]):
            fail(f"From of acme's notification: {note['From']}", gw)
        for want in ("Acme Secure Post", "help@acme.example"):
            if want not in text:
                fail(f"{want!r} not in acme's notification:\n{text}", gw)
        if "#ab12cd" not in html or "/brand/acme.example/logo" not in html:
            fail(f"colour or logo not in acme's HTML notification:\n{html}", gw)
        link, _ = Gateway.link_of(open(sorted(maildir_files(gw.outbound),
                                               key=os.path.getmtime)[0], "rb").read())
        b = Browser(gw.portal)
        status, _, page = b.request("GET", link)
        if status != 200 or b"Acme Secure Post" not in page or \
                b'src="/brand/acme.example/logo"' not in page:
            fail(f"acme's link page: {status}\n{page[:800]}", gw)
        status, headers, body = b.request("GET", "/brand/acme.example/logo")
        if status != 200 or body != LOGO or headers.get("Content-Type") != "image/svg+xml" or \
                "sandbox" not in headers.get("Content-Security-Policy", ""):
            fail(f"logo: {status} {headers}", gw)

        # The default tenant has no branding: the config's product name.
        gw.send(confidential("alice@example.com", "Plain figures"), "partner@example.org")
        note, text, _ = note_for(gw, 2, "Plain")
        if "Acme" in text or "smimegate Secure Mail" not in text:
            fail(f"the default tenant's notification:\n{text}", gw)

        # A changed branding shows without a restart (change event -> read again).
        ctl(gw, "tenant", "branding", "set", "acme", "--product-name", "Acme Post Two")
        n = 3

        def renamed():
            nonlocal n
            gw.send(confidential("bob@acme.example", f"Again {n}"), "partner@example.org",
                    sender="bob@acme.example")
            _, t, _ = note_for(gw, n, "Again")
            n += 1
            return "Acme Post Two" in t
        sgtest.wait_until(renamed, timeout=20, interval=0.5, what="the new product name",
                          proc=gw.proc)
        print("PASS: notification, pages and logo follow the tenant's branding; "
              "the default tenant keeps the config's; a change applies at once")
    finally:
        gw.stop()


main()
