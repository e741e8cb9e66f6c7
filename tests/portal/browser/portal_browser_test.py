#!/usr/bin/python3
"""The portal in a real browser (issue 17): Debian's chromium driven headless
by playwright-core (npm, installed by this test into the build tree).

Over `smimegate run`: alice sends a [confidential] message with an attachment
and one with hostile HTML to a partner without a certificate; from the
notification's link the browser registers, reads the message, downloads the
attachment (same bytes), replies (the reply arrives in the inbound Maildir, encrypted to alice),
opens the hostile message (no dialog, no request to the remote host, no
script effect) and follows a link to the inbox from another site (arrives
without the session cookie: the login page). A screenshot of every step is
saved in <build>/tests/portal/browser-artifacts/.

Usage: portal_browser_test.py <smimegate> <smimegatectl> <npm cache dir> <artifacts dir>
Exit 77 (skipped) when chromium or npm is missing.
"""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from email.message import EmailMessage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support"))
import sgtest  # noqa: E402
from portal_harness import Gateway, maildir_files  # noqa: E402

SMIMEGATE, CTL, NPM_ROOT, SHOTS = sys.argv[1:5]
# The newest playwright-core that still runs on Debian 12's Node.js 18.
PLAYWRIGHT = "1.56.0"
NPM_DIR = os.path.join(NPM_ROOT, "playwright-core-" + PLAYWRIGHT)
ATTACHMENT = os.urandom(50_000)
XSS_SUBJECT = "Hostile HTML"


def xss_html(evil):
    return f"""<html><body><p>Hello</p>
<script>window.top.__xss=1;alert(1)</script>
<img src=x onerror="window.top.__xss=1;alert(2)">
<svg onload="alert(3)"><circle r=1></svg>
<a id="jl" href="javascript:window.top.__xss=1;alert(4)">click me</a>
<img src="http://127.0.0.1:{evil}/track.gif">
<div style="background:url(http://127.0.0.1:{evil}/css.png)">styled</div>
<iframe src="http://127.0.0.1:{evil}/frame"></iframe>
<form action="http://127.0.0.1:{evil}/steal"><input name=p></form>
<math><mtext><table><mglyph><style><img src=x onerror=alert(5)>
</body></html>"""


class Counter(http.server.BaseHTTPRequestHandler):
    hits = 0
    page = b""

    def do_GET(self):  # noqa: N802
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(type(self).page)

    def log_message(self, *args):
        pass


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ensure_playwright():
    """playwright-core in the build tree's npm cache; exit 77 (skip) when npm cannot fetch it."""
    if os.path.isdir(os.path.join(NPM_DIR, "node_modules", "playwright-core")):
        return
    os.makedirs(NPM_DIR, exist_ok=True)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent",
                        "playwright-core@" + PLAYWRIGHT], cwd=NPM_DIR, timeout=300,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("SKIP: npm could not install playwright-core:", r.stderr[-1000:])
        sys.exit(77)


def main():
    if not os.path.exists("/usr/bin/chromium") or not shutil.which("npm"):
        print("SKIP: chromium or npm missing")
        sys.exit(77)
    ensure_playwright()
    shutil.copy(os.path.join(HERE, "portal_flow.mjs"), NPM_DIR)
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)

    evil = type("Evil", (Counter,), {"hits": 0, "page": b"gif"})
    evil_server = serve(evil)
    gw = Gateway(SMIMEGATE, CTL)
    attacker = type("Attacker", (Counter,), {
        "page": f'<a id="go" href="https://localhost:{gw.portal}/inbox">inbox</a>'.encode()})
    attacker_server = serve(attacker)
    try:
        t0 = time.monotonic()
        gw.start()
        print(f"gateway ready in {time.monotonic() - t0:.1f} s")
        m = EmailMessage()
        m["From"], m["To"] = "Alice <alice@example.com>", "partner@example.org"
        m["Subject"] = "[confidential] Quarterly figures"
        m.set_content("The numbers are 4711 and 0815.\n")
        m.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="figures.bin")
        gw.send(m, "partner@example.org")
        # The notification does not name the subject (subject_in_notification
        # is off by default): the first one is the first message's.
        link, _ = Gateway.link_of(gw.wait_notifications(1)[0])
        x = EmailMessage()
        x["From"], x["To"] = "Alice <alice@example.com>", "partner@example.org"
        x["Subject"] = f"[confidential] {XSS_SUBJECT}"
        x.set_content("plain part")
        x.add_alternative(xss_html(evil_server.server_port), subtype="html")
        gw.send(x, "partner@example.org")
        gw.wait_notifications(2)
        if not link:
            print("FAIL: no notification for the first message")
            sys.exit(1)
        args = {"base": f"https://localhost:{gw.portal}", "link": link,
                "attachmentSha256": hashlib.sha256(ATTACHMENT).hexdigest(),
                "xssSubject": XSS_SUBJECT, "evilPort": evil_server.server_port,
                "attackerUrl": f"http://127.0.0.1:{attacker_server.server_port}/",
                "shots": os.path.abspath(SHOTS)}
        started = time.monotonic()
        r = subprocess.run(["node", "portal_flow.mjs", json.dumps(args)], cwd=NPM_DIR,
                           capture_output=True, text=True, timeout=120)
        print(r.stdout.strip(), f"(browser {time.monotonic() - started:.1f} s)")
        if r.returncode != 0:
            print(r.stderr[-3000:])
            print("FAIL: the browser flow")
            sys.exit(1)
        if evil.hits:
            print(f"FAIL: the remote host was contacted {evil.hits} time(s)")
            sys.exit(1)
        sgtest.wait_until(lambda: maildir_files(gw.inbound), timeout=30, what="the reply",
                          proc=gw.proc)
        reply = open(maildir_files(gw.inbound)[0], "rb").read()
        if b"from the browser test" in reply or b"application/pkcs7-mime" not in reply:
            print("FAIL: the reply did not arrive for alice encrypted to her certificate")
            sys.exit(1)
        print(f"PASS: browser flow; screenshots in {SHOTS}")
    finally:
        gw.stop()
        evil_server.shutdown()
        attacker_server.shutdown()


main()
