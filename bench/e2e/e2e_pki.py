"""The partner's PKI and the message templates, made with the openssl CLI.

What a correspondent outside the gateway has: a CA, a personal certificate
for partner@example.org (same key type as the run), and the S/MIME messages
its mail client would send (signed by the partner, encrypted to one of our
users). Also a signer certificate for the do-it-yourself baseline gateway
(it cannot use the keyservice's private keys).

Everything is written into a work directory given by the caller; nothing
here is secret beyond a benchmark run.
"""
import email.utils
import os
import random
import subprocess

PARTNER = "partner@example.org"


def _openssl(*args, cwd=None, stdin=None):
    r = subprocess.run(["openssl", *args], cwd=cwd, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:3])}...: {r.stderr.decode(errors='replace')[-600:]}")
    return r.stdout


def _newkey_args(key_type):
    if key_type == "rsa2048":
        return ["-newkey", "rsa:2048"]
    if key_type == "p256":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    raise ValueError(f"unknown key type {key_type}")


def _key_usage(key_type):
    return ("digitalSignature,keyEncipherment" if key_type == "rsa2048"
            else "digitalSignature,keyAgreement")


class Pki:
    """A CA and end-entity certificates, all of `key_type`, under `workdir`."""

    def __init__(self, workdir, key_type, name="partner"):
        self.dir = os.path.join(workdir, f"pki-{name}-{key_type}")
        self.key_type = key_type
        os.makedirs(self.dir, exist_ok=True)
        self.ca_pem = os.path.join(self.dir, "ca.pem")
        self.ca_key = os.path.join(self.dir, "ca.key")
        _openssl("req", "-x509", *_newkey_args(key_type), "-nodes", "-keyout", self.ca_key,
                 "-out", self.ca_pem, "-days", "30", "-subj", f"/CN=Bench {name} CA",
                 "-addext", "basicConstraints=critical,CA:true",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, address):
        """-> (cert_pem_path, key_path) for address (S/MIME end entity)."""
        base = os.path.join(self.dir, address.replace("@", "_at_"))
        key, csr, pem, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        _openssl("req", *_newkey_args(self.key_type), "-nodes", "-keyout", key, "-out", csr,
                 "-subj", f"/CN={address}/emailAddress={address}")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=email:{address}\n"
                    f"keyUsage=critical,{_key_usage(self.key_type)}\n"
                    "extendedKeyUsage=emailProtection\n"
                    "basicConstraints=critical,CA:false\n")
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca_pem, "-CAkey", self.ca_key,
                 "-CAcreateserial", "-days", "20", "-extfile", ext, "-out", pem)
        return pem, key


def body_lines(size, seed=1):
    """ASCII text lines (<= 76 chars, varied) of about `size` bytes with CRLF."""
    rnd = random.Random(seed)
    words = ("gateway certificate partner invoice quarterly schedule message delivery "
             "encrypted signature meeting report budget project review customer order "
             "shipment payment contract update status").split()
    out, n = [], 0
    while n < size:
        line, width = [], rnd.randint(40, 76)
        while True:
            w = rnd.choice(words)
            if len(" ".join(line + [w])) > width:
                break
            line.append(w)
        s = " ".join(line) + "\r\n"
        out.append(s)
        n += len(s)
    return "".join(out)


def _to_crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def make_inbound_template(path, size, sender_pem, sender_key, ca_pem, recipient_pem,
                          sender, recipient, subject="bench decrypt_verify"):
    """An S/MIME message as a partner's client sends it: signed by the sender
    (clear-signed, multipart/signed), then encrypted (AES-256-CBC) to the
    recipient's certificate, with From/To/Subject on top. The whole message
    is about `size` bytes (two passes: base64 and CMS overhead are measured).
    Returns the actual size."""
    inner_size = max(200, int(size * 0.7))
    data = b""
    for _ in range(6):
        inner = ("Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body_lines(inner_size)).encode()
        signed = _openssl("cms", "-sign", "-signer", sender_pem, "-inkey", sender_key,
                          "-certfile", ca_pem, "-outform", "SMIME", stdin=inner)
        enc = _openssl("cms", "-encrypt", "-aes256", "-outform", "SMIME", recipient_pem,
                       stdin=_to_crlf(signed))
        # Date = now: the signature's signingTime must be within an hour of
        # it, or the gateway (like Thunderbird) marks it [signed INVALID].
        head = (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
                f"Date: {email.utils.formatdate(usegmt=True)}\r\n").encode()
        data = head + _to_crlf(enc)
        if abs(len(data) - size) <= max(64, size // 50):
            break
        # base64 of the enveloped data: ~1.37 bytes per plain byte
        inner_size = max(100, int(inner_size + (size - len(data)) / 1.37))
    with open(path, "wb") as f:
        f.write(data)
    return len(data)
