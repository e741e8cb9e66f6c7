#!/usr/bin/python3
"""A tiny SMTP relay (aiosmtpd) between smimegate-bench-smtp and its sink, with
fault modes that the load generator must detect.

Usage: loadgen_relay.py LISTEN_PORT NEXTHOP_PORT MODE
MODE: pass | dup | drop | body | fold | foreign | reject | close | slow
Prints "ready" on stdout once it accepts connections; runs until killed.
"""
import asyncio
import re
import smtplib
import sys
import threading

from aiosmtpd.controller import Controller

LISTEN, NEXTHOP, MODE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ID_RE = re.compile(rb"^X-Bench-Id: *(\S+)\r?\n", re.I | re.M)


class Relay:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if MODE == "reject" and address.startswith("reject"):
            return "550 5.1.1 rejected by the test relay"
        if MODE == "reject" and address.startswith("tempfail"):
            return "451 4.3.0 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = self.count
            self.count += 1
        data = envelope.content
        copies = 1
        if MODE == "slow":
            await asyncio.sleep(0.05)  # 20 messages/s per connection
        if MODE == "dup":
            copies = 2
        elif MODE == "drop" and n % 5 == 4:
            copies = 0
        elif MODE == "body":
            m = ID_RE.search(data)
            head, body = data.split(b"\r\n\r\n", 1)
            head = ID_RE.sub(b"X-Old-Bench: \\1\r\n", head)
            data = head + b"\r\n\r\n" + b"X-Bench-Id: " + m.group(1) + b"\r\n" + body
        elif MODE == "fold":
            data = ID_RE.sub(b"x-bench-id:\r\n\t\\1\r\n", data, count=1)
        elif MODE == "close" and n % 10 == 9:
            asyncio.get_running_loop().call_later(0.01, server.transport.close)
            return "421 4.3.2 closing this connection"
        for _ in range(copies):
            send(envelope.mail_from, envelope.rcpt_tos, data)
        if MODE == "foreign" and n == 0:
            send("x@y", ["z@w"], b"Subject: no bench id\r\n\r\nbody\r\n")
        return "250 2.0.0 relayed"


def send(sender, rcpts, data):
    with smtplib.SMTP("127.0.0.1", NEXTHOP, timeout=10) as s:
        s.sendmail(sender, rcpts, data)


def main():
    controller = Controller(Relay(), hostname="127.0.0.1", port=LISTEN)
    controller.start()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
