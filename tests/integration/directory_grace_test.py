#!/usr/bin/python3
"""Issue 20: a user removed from the directory still gets their mail decrypted
during the grace period, end to end through `smimegate run`.

1. `smimegatectl user import users.csv --sync` creates alice (participating)
   and bob; alice's first outbound message is signed (her key and
   certificate are issued), `smimegatectl cert export` gives her certificate.
2. A real external client, `openssl cms -encrypt`, encrypts a message to that
   certificate.
3. alice is removed from the CSV and the sync runs again: she is disabled
   (`directory status`: waiting for removal).
4. The encrypted message arrives over SMTP at the MX listener: it is delivered
   decrypted (`[secure]` subject, the plaintext body) to the inbound Maildir,
   and alice's outbound mail is no longer signed.
5. The grace period (keyservice.directory.grace_period: 2s) passes and the
   sync runs again: alice is removed (`user list`), and an outbound message
   from her is not signed.

The mutation check for this test: GetDecryptionKeys without the keys of a
disabled user makes step 4 fail (a DSN instead of the plaintext).

Usage: directory_grace_test.py <build dir>
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

fail = sgtest.fail_with_log
ctl_ok = sgtest.ctl_ok
GRACE = 2  # seconds: keyservice.directory.grace_period
ALICE = "alice@example.com"
SECRET = "the plaintext of the grace-period message"
CONFIG = sgtest.run_config(
    keyservice_extra=f"directory: {{grace_period: {GRACE}s, max_disable_percent: 100}}")



def sync(gw, csv, lines):
    with open(csv, "w") as f:
        f.write("address,participating\n" + "".join(line + "\n" for line in lines))
    return ctl_ok(gw, "user", "import", csv, "--sync", "--domain", "example.com")


def is_signed(msg):
    return b"application/pkcs7-signature" in msg or b"application/x-pkcs7-signature" in msg


def send_outbound(gw, mid):
    gw.send("relay", ALICE, ["partner@remote.example"],
            (f"From: Alice <{ALICE}>\r\nTo: partner@remote.example\r\nSubject: out\r\n"
             f"Message-ID: <{mid}>\r\n\r\nhello\r\n").encode())
    return gw.wait_mail("outbound", mid.encode())


def encrypted_to(cert, work):
    """An RFC 5322 message to alice, its body encrypted by openssl cms."""
    plain = os.path.join(work, "plain.txt")
    with open(plain, "wb") as f:
        f.write(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + SECRET.encode() + b"\r\n")
    r = subprocess.run(["openssl", "cms", "-encrypt", "-aes256", "-in", plain, "-recip", cert],
                       capture_output=True, check=True)
    body = r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (b"From: Partner <partner@remote.example>\r\nTo: " + ALICE.encode() +
            b"\r\nSubject: in grace\r\nMessage-ID: <grace-in@remote.example>\r\n" + body)


def subject_of(msg):
    for line in msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").split(b"\r\n"):
        if line.lower().startswith(b"subject:"):
            return line.split(b":", 1)[1].strip().decode(errors="replace")
    return None


def main():
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], CONFIG, prefix="sg-dir-grace-")
        with gw:
            run(gw)
    except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")


def run(gw):
    csv = os.path.join(gw.work, "users.csv")
    out = sync(gw, csv, [f"{ALICE},yes", "bob@example.com,yes"])
    if "2 add" not in out:
        fail(f"the first sync did not add alice and bob: {out}", gw.log_path)
    if not is_signed(send_outbound(gw, "first@example.com")):
        fail("alice's first message was not signed", gw.log_path)
    cert = os.path.join(gw.work, "alice.pem")
    ctl_ok(gw, "cert", "export", ALICE, "--out", cert)
    message = encrypted_to(cert, gw.work)

    out = sync(gw, csv, ["bob@example.com,yes"])
    if f"disable {ALICE}" not in out:
        fail(f"the sync without alice did not disable her: {out}", gw.log_path)
    disabled_at = time.monotonic()
    status = ctl_ok(gw, "directory", "status", "--source", "csv-import")
    if "disabled, waiting for removal: 1" not in status:
        fail(f"directory status does not show alice waiting for removal: {status}", gw.log_path)

    gw.send("mx", "partner@remote.example", [ALICE], message)
    got = gw.wait_mail("inbound", b"grace-in@remote.example")
    subject = subject_of(got)
    if not subject or not subject.startswith("[secure]"):
        fail(f"the message in the grace period was delivered with Subject {subject!r}",
             gw.log_path)
    if SECRET.encode() not in got or b"application/pkcs7-mime" in got:
        fail("the message in the grace period was not decrypted:\n" +
             got.decode(errors="replace")[:2000], gw.log_path)
    if is_signed(send_outbound(gw, "disabled@example.com")):
        fail("a disabled user's message was signed", gw.log_path)

    time.sleep(max(0.0, GRACE + 0.5 - (time.monotonic() - disabled_at)))
    out = sync(gw, csv, ["bob@example.com,yes"])
    if f"remove {ALICE}" not in out:
        fail(f"the sync after the grace period did not remove alice: {out}", gw.log_path)
    users = ctl_ok(gw, "user", "list")
    if ALICE in users or "bob@example.com" not in users:
        fail(f"user list after the removal: {users}", gw.log_path)
    if is_signed(send_outbound(gw, "removed@example.com")):
        fail("a removed user's message was signed", gw.log_path)
    print(f"ok: decrypted for {ALICE} while disabled ([secure], plaintext); removed after "
          f"the {GRACE} s grace period, her mail then leaves unsigned")


if __name__ == "__main__":
    main()
