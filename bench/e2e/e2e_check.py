"""Checks that each scenario really produces the form it claims to measure.

Before any measurement the harness sends one message per scenario through
the gateway to a small aiosmtpd sink on the sink port (the load generator is
not running then) and opens each delivered message the way its recipient
would: relay mail arrives unchanged, sign mail verifies with `openssl cms`
and is signed by our user, sign+encrypt mail decrypts with the partner's key
and is signed inside, decrypt+verify mail arrives in clear with "[secure]"
and "[signed OK]" in the Subject. This is also the first use of every key
(issuance) and, in Kafka mode, waits out the consumer-group joins.
"""
import os
import re
import smtplib
import subprocess
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

import e2e_gateway as gw


class _Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = {}  # check id -> raw bytes

    async def handle_DATA(self, server, session, envelope):
        m = re.search(rb"^X-Bench-Check:\s*(\S+)", envelope.content, re.M | re.I)
        with self.lock:
            self.messages[m.group(1).decode() if m else "?"] = envelope.content
        return "250 OK"


def _openssl_ok(args, stdin):
    r = subprocess.run(["openssl", *args], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return r.returncode == 0, r.stdout, r.stderr.decode(errors="replace")


def _header_section(raw):
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")


def _subject(raw):
    m = re.search(r"^Subject:(.*(?:\n[ \t].*)*)", _header_section(raw), re.M | re.I)
    return " ".join(m.group(1).split()) if m else ""


def check_forms(gateway, scenarios, templates, partner_pem, partner_key, timeout=90.0):
    """Sends one message per scenario; returns {scenario: "ok" | error text}."""
    sink = _Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=gateway.sink_port,
                     server_kwargs={"data_size_limit": 64 << 20})
    ctl.start()
    results = {}
    try:
        marker = "BENCH-CHECK-BODY"
        plain = lambda frm, to, cid: (
            f"From: {frm}\r\nTo: {to}\r\nSubject: check {cid}\r\nX-Bench-Check: {cid}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{marker} {cid}\r\n").encode()
        sends = []
        for sc in scenarios:
            cid = f"{sc}-{int(time.time() * 1000)}"
            if sc == "relay":
                sends.append((sc, cid, gateway.relay_port, gw.PLAIN_SENDER, gw.RELAY_RCPT,
                              plain(gw.PLAIN_SENDER, gw.RELAY_RCPT, cid)))
            elif sc == "sign":
                sends.append((sc, cid, gateway.relay_port, gw.SENDER, gw.NOCERT,
                              plain(gw.SENDER, gw.NOCERT, cid)))
            elif sc == "sign_encrypt":
                sends.append((sc, cid, gateway.relay_port, gw.SENDER, gw.PARTNER,
                              plain(gw.SENDER, gw.PARTNER, cid)))
            elif sc == "decrypt_verify":
                with open(templates["decrypt_verify"], "rb") as f:
                    data = f.read()
                sends.append((sc, cid, gateway.mx_port, gw.PARTNER, gw.SENDER,
                              f"X-Bench-Check: {cid}\r\n".encode() + data))
        for sc, cid, port, frm, to, data in sends:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                    s.sendmail(frm, [to], data)
            except (smtplib.SMTPException, OSError) as e:
                results[sc] = f"not accepted by the gateway: {e!r}"
        end = time.time() + timeout
        while time.time() < end:
            with sink.lock:
                if all(cid in sink.messages for sc, cid, *_ in sends if sc not in results):
                    break
            time.sleep(0.05)
        with tempfile.TemporaryDirectory() as tmp:
            for sc, cid, *_ in sends:
                if sc in results:
                    continue
                with sink.lock:
                    raw = sink.messages.get(cid)
                if raw is None:
                    results[sc] = f"not delivered within {timeout:.0f} s"
                    continue
                results[sc] = _check_one(sc, raw, marker, tmp, partner_pem, partner_key)
    finally:
        ctl.stop()
    return results


def _check_one(sc, raw, marker, tmp, partner_pem, partner_key):
    head = _header_section(raw).lower()
    if sc == "relay":
        if "pkcs7" in head or marker.encode() not in raw:
            return "relay mail was changed (expected it unchanged)"
        return "ok"
    if sc == "sign":
        if "multipart/signed" not in head:
            return "sign: delivered mail is not multipart/signed"
        signer = os.path.join(tmp, "signer.pem")
        ok, out, err = _openssl_ok(["cms", "-verify", "-noverify", "-signer", signer], raw)
        if not ok:
            return f"sign: signature does not verify: {err[-300:]}"
        if marker.encode() not in out:
            return "sign: signed content differs"
        ok, subj, _ = _openssl_ok(["x509", "-in", signer, "-noout", "-email"], b"")
        if gw.SENDER.encode() not in subj:
            return f"sign: signer is not {gw.SENDER}: {subj!r}"
        return "ok"
    if sc == "sign_encrypt":
        if "application/pkcs7-mime" not in head or marker.encode() in raw:
            return "sign_encrypt: delivered mail is not encrypted"
        ok, dec, err = _openssl_ok(["cms", "-decrypt", "-recip", partner_pem, "-inkey", partner_key], raw)
        if not ok:
            return f"sign_encrypt: the partner cannot decrypt it: {err[-300:]}"
        if b"multipart/signed" not in dec.lower():
            return "sign_encrypt: decrypted content is not signed"
        ok, out, err = _openssl_ok(["cms", "-verify", "-noverify"], dec)
        if not ok or marker.encode() not in out:
            return f"sign_encrypt: inner signature does not verify: {err[-300:]}"
        return "ok"
    if sc == "decrypt_verify":
        subj = _subject(raw)
        if "[secure]" not in subj or "[signed OK]" not in subj:
            return f"decrypt_verify: Subject lacks [secure] [signed OK]: {subj!r}"
        if "application/pkcs7-mime" in head:
            return "decrypt_verify: delivered mail is still encrypted"
        if b"gateway" not in raw and b"partner" not in raw:
            return "decrypt_verify: decrypted text missing"
        return "ok"
    return f"unknown scenario {sc}"
