#!/usr/bin/python3
"""bench.postfix_baselines: the Postfix baselines of the e2e benchmark work.

smtplib sender -> PostfixRelay / DiyGateway (private Postfix instances on free
loopback ports) -> aiosmtpd sink. Checks what a user of the benchmark relies
on: every message arrives once and intact (a line starting with '.', the
X-Bench-Id header in the header section), the DIY gateway's output is S/MIME
that `openssl cms -verify` accepts (and `-decrypt` opens when the recipient
has a certificate), ProcTree sees the instance's CPU, a restart works, and
stop() leaves no process of the instance behind.

Usage: postfix_baselines_test.py [relay|diy|all]   (default all)
"""
import email
import email.policy
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "e2e"))
import postfix_baselines as pb  # noqa: E402
from proc_stats import ProcTree, RssSampler  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from sgtest import free_port  # noqa: E402

DOT_BODY = ".starts with a dot\n..two dots\nplain line\n.\nlast line\n"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Sink:
    """aiosmtpd sink keeping (mail_from, rcpt_tos, bytes) per message."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  bytes(envelope.original_content or envelope.content)))
        return "250 OK"

    def wait_for(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"sink got {len(self.messages)} of {n} messages")

    def by_bench_id(self):
        out = {}
        for frm, rcpts, data in self.messages:
            msg = email.message_from_bytes(data, policy=email.policy.compat32)
            out[msg["X-Bench-Id"]] = (frm, rcpts, data, msg)
        return out


def make_message(bench_id, frm, to, body, subject="bench"):
    return (f"From: <{frm}>\r\nTo: <{to}>\r\nSubject: {subject} {bench_id}\r\n"
            f"Date: Sat, 28 Nov 2026 22:00:00 +0000\r\n"
            f"Message-ID: <{bench_id}@bench.example>\r\nX-Bench-Id: {bench_id}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n"
            + body.replace("\n", "\r\n"))


def send(port, frm, to, data):
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.sendmail(frm, [to], data)


def assert_stopped(inst, master_pid):
    check(not os.path.exists(f"/proc/{master_pid}") or pb._is_zombie(master_pid),
          f"master {master_pid} still running")
    left = [p for p in pb._processes_under(inst.base) if not pb._is_zombie(p)]
    check(not left, f"processes of {inst.base} still running: {left}")
    with socket.socket() as s:
        check(s.connect_ex(("127.0.0.1", inst.listen_port)) != 0,
              f"port {inst.listen_port} still accepts connections")


def test_relay(work):
    sink = Sink()
    sink.controller.start()
    relay = pb.PostfixRelay(work, free_port(), sink.port)
    try:
        relay.start()
        master = relay.master_pid
        roots = relay.root_pids()
        check(master in roots and len(roots) >= 3, f"root_pids {roots}")
        tree = ProcTree([master])
        cpu0 = tree.cpu_seconds()
        # Enough mail for Postfix to spend several clock ticks (10 ms) of CPU.
        n = 60
        with RssSampler(tree, interval=0.02) as sampler:
            with smtplib.SMTP("127.0.0.1", relay.listen_port, timeout=20) as s:
                for i in range(n):
                    s.sendmail("alice@sender.example", ["bob@dest.example"],
                               make_message(f"relay-{i}", "alice@sender.example",
                                            "bob@dest.example",
                                            DOT_BODY if i == 0 else f"message {i}\n" * 500))
            sink.wait_for(n)
        cpu1 = tree.cpu_seconds()
        check(cpu1 - cpu0 >= 0.02, f"ProcTree CPU did not grow: {cpu0} -> {cpu1}")
        check(sampler.peak_bytes > 1 << 20, f"peak RSS {sampler.peak_bytes}")
        got = sink.by_bench_id()
        check(sorted(got) == sorted(f"relay-{i}" for i in range(n)), f"ids {sorted(got)}")
        frm, rcpts, data, msg = got["relay-0"]
        check(frm == "alice@sender.example" and rcpts == ["bob@dest.example"],
              f"envelope {frm} {rcpts}")
        check(msg.get_payload().replace("\r\n", "\n") == DOT_BODY,
              f"dot lines damaged: {msg.get_payload()!r}")
        relay.stop()
        assert_stopped(relay, master)
        relay.stop()  # idempotent

        # A second start in the same harness run works and is a fresh instance.
        relay.start()
        check(relay.master_pid != master, "restart reuses the old master")
        send(relay.listen_port, "alice@sender.example", "bob@dest.example",
             make_message("relay-again", "alice@sender.example", "bob@dest.example", "hi\n"))
        sink.wait_for(n + 1)
        check("relay-again" in sink.by_bench_id(), "message after restart")
        master = relay.master_pid
        relay.stop()
        assert_stopped(relay, master)
    finally:
        relay.stop()
        sink.controller.stop()
    print("relay: PASS")


def test_killed_harness(work):
    """A harness killed with SIGKILL (no stop(), no atexit) leaves no Postfix."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; sys.path.insert(0, sys.argv[1]); import postfix_baselines as pb; "
         "r = pb.PostfixRelay(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])); r.start(); "
         "print(r.master_pid, flush=True); time.sleep(60)",
         os.path.join(HERE, "..", "..", "bench", "e2e"), work, str(port), str(free_port())],
        stdout=subprocess.PIPE, text=True)
    try:
        master = int(child.stdout.readline())
    finally:
        child.kill()
        child.wait()
    base = os.path.join(work, f"postfix-relay-{port}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [p for p in pb._processes_under(base) if not pb._is_zombie(p)]
        if not left and (not os.path.exists(f"/proc/{master}") or pb._is_zombie(master)):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"Postfix of a killed harness still runs: {left}")
    print("killed harness: PASS")


def openssl(*args, stdin=None):
    out = subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=30)
    check(out.returncode == 0, f"openssl {' '.join(args)} failed: {out.stderr.decode()}")
    return out.stdout


def make_pki(d, signer_key_type):
    """A CA, a signer certificate and a partner (recipient) certificate."""
    def key(path, kind):
        if kind == "rsa":
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", path)
        else:
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", path)

    p = {n: os.path.join(d, n) for n in ("ca.key", "ca.pem", "signer.key", "signer.csr",
                                         "signer.pem", "rcpt.key", "rcpt.csr", "rcpt.pem",
                                         "ext.cnf")}
    key(p["ca.key"], "ec")
    openssl("req", "-x509", "-new", "-key", p["ca.key"], "-subj", "/CN=Bench CA",
            "-days", "2", "-out", p["ca.pem"], "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(p["ext.cnf"], "w") as f:
        f.write("[smime]\nbasicConstraints=CA:false\n"
                "keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\n"
                "extendedKeyUsage=emailProtection\nsubjectAltName=email:copy\n")
    for name, addr, kind in (("signer", "alice@sender.example", signer_key_type),
                             ("rcpt", "partner@partner.example", "rsa")):
        key(p[f"{name}.key"], kind)
        openssl("req", "-new", "-key", p[f"{name}.key"], "-subj",
                f"/CN={name}/emailAddress={addr}", "-out", p[f"{name}.csr"])
        openssl("x509", "-req", "-in", p[f"{name}.csr"], "-CA", p["ca.pem"], "-CAkey",
                p["ca.key"], "-CAcreateserial", "-days", "2", "-extfile", p["ext.cnf"],
                "-extensions", "smime", "-out", p[f"{name}.pem"])
    return p


def verify_signed(data, pki, d, name):
    path = os.path.join(d, f"{name}.eml")
    with open(path, "wb") as f:
        f.write(data)
    content = openssl("cms", "-verify", "-CAfile", pki["ca.pem"], "-in", path,
                      "-purpose", "smimesign")
    # The signer's certificate travels in the signature.
    signers = os.path.join(d, f"{name}.signers")
    openssl("cms", "-verify", "-CAfile", pki["ca.pem"], "-in", path, "-signer", signers,
            "-out", os.devnull)
    check(open(signers).read().strip() == open(pki["signer.pem"]).read().strip(),
          "signer certificate included")
    return content


def test_diy(work, signer_key_type):
    pki_dir = os.path.join(work, f"pki-{signer_key_type}")
    os.makedirs(pki_dir)
    pki = make_pki(pki_dir, signer_key_type)
    sink = Sink()
    sink.controller.start()
    diy = pb.DiyGateway(work, free_port(), sink.port, pki["signer.pem"], pki["signer.key"],
                        encrypt_to={"Partner@Partner.example": pki["rcpt.pem"]})
    try:
        diy.start()
        master = diy.master_pid
        tree = ProcTree(diy.root_pids())
        cpu0 = tree.cpu_seconds()
        sender = "alice@sender.example"
        send(diy.listen_port, sender, "bob@dest.example",
             make_message("diy-dot", sender, "bob@dest.example", DOT_BODY))
        send(diy.listen_port, sender, "carol@dest.example",
             make_message("diy-plain", sender, "carol@dest.example", "hello carol\n" * 20))
        send(diy.listen_port, sender, "partner@partner.example",
             make_message("diy-enc", sender, "partner@partner.example", "secret\n.dot\n"))
        sink.wait_for(3, timeout=int(os.environ.get("DIY_WAIT", "30")))
        cpu1 = tree.cpu_seconds()
        # Two openssl runs per message at least: well above 10 ms in total.
        check(cpu1 - cpu0 > 0.01, f"ProcTree CPU {cpu0} -> {cpu1} misses the filter")
        got = sink.by_bench_id()
        check(sorted(got) == ["diy-dot", "diy-enc", "diy-plain"], f"ids {sorted(got)}")

        frm, rcpts, data, msg = got["diy-dot"]
        check(frm == sender and rcpts == ["bob@dest.example"], f"envelope {frm} {rcpts}")
        check(msg.get_content_type() == "multipart/signed", msg.get_content_type())
        check(msg.get_param("protocol") == "application/pkcs7-signature", "protocol")
        check(msg.get_param("micalg") == "sha-256", f"micalg {msg.get_param('micalg')}")
        for h, want in (("Subject", "bench diy-dot"), ("From", f"<{sender}>"),
                        ("Message-ID", "<diy-dot@bench.example>"),
                        ("Date", "Sat, 28 Nov 2026 22:00:00 +0000")):
            check(msg[h] == want, f"outer {h}: {msg[h]!r}")
        check(len(msg.get_all("MIME-Version")) == 1, "one MIME-Version")
        inner = verify_signed(data, pki, work, "diy-dot")
        inner_msg = email.message_from_bytes(inner, policy=email.policy.compat32)
        check(inner_msg.get_content_type() == "text/plain", "inner content type")
        check(inner_msg["Content-Transfer-Encoding"] == "7bit", "inner CTE")
        check(inner_msg["Subject"] is None and inner_msg["X-Bench-Id"] is None,
              "outer headers stay outside the signed entity")
        check(inner_msg.get_payload().replace("\r\n", "\n") == DOT_BODY,
              f"dot lines damaged: {inner_msg.get_payload()!r}")

        verify_signed(got["diy-plain"][2], pki, work, "diy-plain")

        frm, rcpts, data, msg = got["diy-enc"]
        check(rcpts == ["partner@partner.example"], f"rcpts {rcpts}")
        check(msg.get_content_type() == "application/pkcs7-mime", msg.get_content_type())
        check(msg.get_param("smime-type") == "enveloped-data", "smime-type")
        check(msg["Subject"] == "bench diy-enc", "outer Subject of the encrypted message")
        enc = os.path.join(work, "diy-enc.eml")
        with open(enc, "wb") as f:
            f.write(data)
        signed = openssl("cms", "-decrypt", "-in", enc, "-recip", pki["rcpt.pem"],
                         "-inkey", pki["rcpt.key"])
        check(b"multipart/signed" in signed.split(b"\n\n")[0].split(b"\r\n\r\n")[0],
              "decrypted entity is multipart/signed")
        content = verify_signed(signed, pki, work, "diy-enc-inner")
        check(content.replace(b"\r\n", b"\n").endswith(b"\n\nsecret\n.dot\n"),
              f"decrypted content {content!r}")

        diy.stop()
        assert_stopped(diy, master)
        check(not os.path.exists(os.path.join(diy.filter_dir, "signer.key")),
              "signer key copy removed at stop")
        diy.stop()
    finally:
        diy.stop()
        sink.controller.stop()
    print(f"diy ({signer_key_type} signer): PASS")


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    work = tempfile.mkdtemp(prefix="sg-bench-baselines-")
    try:
        if which in ("relay", "all"):
            test_relay(work)
            test_killed_harness(work)
        if which in ("diy", "all"):
            test_diy(work, "rsa")
            test_diy(work, "ec")
    finally:
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
