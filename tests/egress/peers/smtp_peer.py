#!/usr/bin/python3
"""A scriptable SMTP peer for egress tests (aiosmtpd).

Listens on --host, port --port (0: any free port), writes "<port>\n" to
--port-file once it accepts connections, and appends one JSON object per
event to --log:
  {"event": "mail", "peer": [ip, port], "tls": bool, "from": ...}       (MAIL accepted)
  {"event": "message", "peer": [...], "tls": bool, "from": ..., "rcpts": [...],
   "message_id": ..., "file": path of the raw message,
   "sni": the client's TLS server name indication (null: none, or no TLS)}
Behaviour:
  --tempfail-rcpt N   the first N RCPT commands get "451 4.3.0 try again later"
  --reject-rcpt SUB   RCPT addresses containing SUB get "550 5.1.1 no such user"
  --tls CERT KEY      offer STARTTLS with this certificate
  --no-pipelining     do not advertise PIPELINING
  --dsn               advertise DSN
  --slow-data SECONDS answer each DATA only after SECONDS, logging
                      {"event": "data", "from": ...} when it starts (a
                      delivery held in flight)
The process runs until killed (SIGTERM).
"""
import argparse
import asyncio
import email
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from sgtest import free_port  # noqa: E402


class Handler:
    def __init__(self, args):
        self.args = args
        self.tempfails_left = args.tempfail_rcpt
        self.lock = threading.Lock()
        self.count = 0

    def log(self, obj):
        with self.lock:
            with open(self.args.log, "a") as f:
                f.write(json.dumps(obj) + "\n")
                f.flush()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        out = []
        for r in responses:
            if self.args.no_pipelining and "PIPELINING" in r:
                continue
            out.append(r)
        if self.args.dsn:
            last = out[-1]
            out[-1] = last.replace("250 ", "250-", 1)
            out.append("250 DSN")
        return out

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        self.log({"event": "mail", "peer": list(session.peer), "tls": session.ssl is not None,
                  "from": address, "options": mail_options + getattr(session, "dsn_mail", [])})
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.tempfails_left > 0:
            self.tempfails_left -= 1
            return "451 4.3.0 try again later"
        if self.args.reject_rcpt and self.args.reject_rcpt in address:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.slow_data > 0:
            self.log({"event": "data", "from": envelope.mail_from})
            await asyncio.sleep(self.args.slow_data)
        with self.lock:
            self.count += 1
            n = self.count
        path = os.path.join(self.args.dir, "msg-%05d.eml" % n)
        data = envelope.original_content or envelope.content
        with open(path, "wb") as f:
            f.write(data)
        msg = email.message_from_bytes(data)
        self.log({"event": "message", "peer": list(session.peer), "tls": session.ssl is not None,
                  "from": envelope.mail_from, "rcpts": envelope.rcpt_tos,
                  "mail_options": envelope.mail_options,
                  "rcpt_options": envelope.rcpt_options + getattr(session, "dsn_rcpt", []),
                  "message_id": msg.get("Message-ID", ""), "file": path,
                  "sni": server_name(session)})
        return "250 2.0.0 OK queued"


def server_name(session):
    """The SNI name the client sent in the session's TLS handshake (remember_sni)."""
    ssl_object = (session.ssl or {}).get("ssl_object")
    return getattr(ssl_object, "sg_sni", None)


def remember_sni(ssl_object, name, context):
    """sni_callback: keep the name on the connection's SSLObject for server_name."""
    ssl_object.sg_sni = name


DSN_MAIL = ("RET=", "ENVID=")
DSN_RCPT = ("NOTIFY=", "ORCPT=")


def split_dsn(arg, names):
    """aiosmtpd does not implement DSN (RFC 3461): take its parameters out
    of the command so the rest is validated as usual, and return them."""
    kept, dsn = [], []
    for tok in (arg or "").split(" "):
        (dsn if tok.upper().startswith(names) else kept).append(tok)
    return " ".join(kept), dsn


class Peer(SMTP):
    """aiosmtpd with DSN parameters accepted when --dsn is given."""

    def __init__(self, *a, dsn=False, **kw):
        super().__init__(*a, **kw)
        self.dsn = dsn

    async def smtp_MAIL(self, arg):
        if self.dsn:
            arg, params = split_dsn(arg, DSN_MAIL)
            self.session.dsn_mail = params
        return await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        if self.dsn:
            arg, params = split_dsn(arg, DSN_RCPT)
            self.session.dsn_rcpt = getattr(self.session, "dsn_rcpt", []) + params
        return await super().smtp_RCPT(arg)


class PeerController(Controller):
    def __init__(self, handler, dsn, **kw):
        super().__init__(handler, **kw)
        self.dsn = dsn

    def factory(self):
        return Peer(self.handler, dsn=self.dsn, **self.SMTP_kwargs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tempfail-rcpt", type=int, default=0)
    ap.add_argument("--reject-rcpt", default="")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--no-pipelining", action="store_true")
    ap.add_argument("--dsn", action="store_true")
    ap.add_argument("--slow-data", type=float, default=0)
    args = ap.parse_args()

    handler = Handler(args)
    tls_context = None
    if args.tls:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls[0], args.tls[1])
        tls_context.sni_callback = remember_sni

    kwargs = dict(hostname=args.host, port=args.port, ready_timeout=10,
                  server_hostname="peer.test", enable_SMTPUTF8=True,
                  decode_data=False)
    if tls_context:
        kwargs["tls_context"] = tls_context
        kwargs["require_starttls"] = False
    controller = PeerController(handler, args.dsn, **kwargs)
    if args.port == 0:
        # Controller needs a concrete port: bind one first.
        controller.port = free_port(args.host)
    controller.start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % controller.port)
    os.rename(tmp, args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
