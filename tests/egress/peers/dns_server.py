#!/usr/bin/python3
"""A tiny authoritative DNS server on loopback for egress MX tests (dnslib).

  dns_server.py --port-file F --record "example.test MX 10 mx1.example.test" \
                --record "mx1.example.test A 127.0.0.2" ...

Names not listed get NXDOMAIN; listed names without the asked type get an
empty NOERROR answer (NODATA). Answers list records in the order given, so a
test can put the higher preference first. UDP only; runs until SIGTERM.
"""
import argparse
import os
import signal
import socket
import threading

from dnslib import AAAA, MX, A, DNSRecord, QTYPE, RCODE, RR


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record", action="append", default=[])
    args = ap.parse_args()

    zone = {}
    for rec in args.record:
        parts = rec.split()
        name = parts[0].rstrip(".").lower() + "."
        rtype = parts[1].upper()
        if rtype == "MX":
            rdata = MX(parts[3], int(parts[2]))
        elif rtype == "A":
            rdata = A(parts[2])
        elif rtype == "AAAA":
            rdata = AAAA(parts[2])
        else:
            raise SystemExit("unsupported type " + rtype)
        zone.setdefault(name, []).append((rtype, rdata))

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    os.rename(tmp, args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            req = DNSRecord.parse(data)
        except Exception:
            continue
        reply = req.reply()
        qname = str(req.q.qname).lower()
        qtype = QTYPE[req.q.qtype]
        if qname not in zone:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            for rtype, rdata in zone[qname]:
                if rtype == qtype:
                    reply.add_answer(RR(req.q.qname, getattr(QTYPE, rtype), rdata=rdata, ttl=60))
        sock.sendto(reply.pack(), addr)


if __name__ == "__main__":
    main()
