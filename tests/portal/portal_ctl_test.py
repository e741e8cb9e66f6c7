#!/usr/bin/python3
"""smimegatectl portal list|resend-link|account|purge against a running portal
(issue 17, "Operations"): the stored message is listed, a resend produces a
second notification with a new working link, `list --domain` shows one
tenant's messages only (two hosted domains) and refuses a bad domain, a
purge removes a message, usage errors exit 2 and an unreachable portal
exits 3.

Usage: portal_ctl_test.py <smimegate> <smimegatectl>
"""
import json
import os
import subprocess
import sys
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portal_harness import Browser, Gateway  # noqa: E402


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    gw = Gateway(sys.argv[1], sys.argv[2])

    def ctl(*args):
        return subprocess.run([gw.ctl, "--home", gw.work, "portal", *args], capture_output=True,
                              text=True, timeout=60)
    try:
        gw.hosted_domains = ["example.com", "example.net"]
        gw.start()
        subprocess.run([gw.ctl, "--home", gw.work, "user", "add", "carol@example.net"],
                       check=True, stdout=subprocess.DEVNULL)
        m = EmailMessage()
        m["From"], m["To"] = "alice@example.com", "partner@example.org"
        m["Subject"] = "[confidential] for the admin test"
        m.set_content("body\n")
        gw.send(m, "partner@example.org")
        first = gw.wait_notifications(1)[0]

        r = ctl("list")
        lines = r.stdout.strip().splitlines()
        if r.returncode != 0 or len(lines) != 1 or not lines[0].startswith("partner@example.org\t"):
            fail(f"list: rc {r.returncode}: {r.stdout}{r.stderr}")
        message_id = lines[0].split("\t")[1]
        if ctl("list", "--recipient", "nobody@example.org").stdout.strip():
            fail("list of another recipient is not empty")

        r = ctl("resend-link", "--recipient", "partner@example.org")
        if r.returncode != 0 or message_id not in r.stdout:
            fail(f"resend-link: rc {r.returncode}: {r.stdout}{r.stderr}")
        notes = gw.wait_notifications(2)
        old_link, _ = Gateway.link_of(first)
        new_link = [Gateway.link_of(n)[0] for n in notes if Gateway.link_of(n)[0] != old_link]
        if len(new_link) != 1:
            fail("no second notification with a new link")
        status, location = Browser(gw.portal).register(new_link[0])
        if status != 303 or message_id not in location:
            fail(f"the resent link does not register: {status} {location}")

        # A second tenant: list --domain shows each tenant its own messages only.
        m = EmailMessage()
        m["From"], m["To"] = "carol@example.net", "partner@example.org"
        m["Subject"] = "[confidential] from the second tenant"
        m.set_content("body\n")
        gw.send(m, "partner@example.org", sender="carol@example.net")
        gw.wait_notifications(3)
        for domain, sender in (("example.com", "alice@example.com"),
                               ("EXAMPLE.NET.", "carol@example.net")):
            r = ctl("list", "--domain", domain)
            lines = r.stdout.strip().splitlines()
            if r.returncode != 0 or len(lines) != 1 or lines[0].split("\t")[2] != sender:
                fail(f"list --domain {domain}: rc {r.returncode}: {r.stdout}{r.stderr}")
        if len(ctl("list").stdout.strip().splitlines()) != 2:
            fail("list without --domain does not show both tenants")
        r = ctl("list", "--domain", "example.org")
        if r.returncode != 0 or r.stdout.strip():
            fail(f"list --domain of a domain without messages: {r.stdout}{r.stderr}")
        r = ctl("list", "--domain", "not a domain")
        if r.returncode != 1 or "--domain" not in r.stderr:
            fail(f"list --domain with a bad domain: rc {r.returncode}: {r.stdout}{r.stderr}")

        # The recipient's account (registered above): show --json, logout, unlock.
        r = ctl("account", "show", "partner@example.org", "--json")
        try:
            account = json.loads(r.stdout) if r.returncode == 0 else {}
        except ValueError:
            account = {}
        if (not account.get("account") or account.get("messages") != 2
                or account.get("last_login_at_ms") != 0 or "$argon2" in r.stdout):
            fail(f"account show --json: rc {r.returncode}: {r.stdout}{r.stderr}")
        for verb, said in (("logout", "logged out every session of"), ("unlock", "unlocked")):
            r = ctl("account", verb, "partner@example.org")
            if r.returncode != 0 or said not in r.stdout:
                fail(f"account {verb}: rc {r.returncode}: {r.stdout}{r.stderr}")
        r = ctl("account", "logout", "nobody@example.org")
        if r.returncode != 1 or "nobody@example.org" not in r.stderr:
            fail(f"account logout of an unknown recipient: rc {r.returncode}: {r.stderr}")

        r = ctl("purge")
        if r.returncode != 2:
            fail(f"purge without arguments exited {r.returncode}")
        r = ctl("purge", "--recipient", "partner@example.org", "--id", message_id)
        if r.returncode != 0 or "purged 1 message" not in r.stdout:
            fail(f"purge: rc {r.returncode}: {r.stdout}{r.stderr}")
        if message_id in ctl("list").stdout:
            fail("the purged message is still listed")
        gw.stop_process()
        r = ctl("list")
        if r.returncode != 3:
            fail(f"list with the portal down exited {r.returncode}: {r.stderr}")
        print("PASS: portal list, resend-link, account show/logout/unlock, purge; exit codes 2 and 3")
    finally:
        gw.stop()


main()
