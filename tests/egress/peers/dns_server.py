#!/usr/bin/python3
"""A tiny authoritative DNS server on loopback for tests (dnslib): egress MX
routing and the keyservice's domain validation (TXT).

  dns_server.py --port-file F --record "example.test MX 10 mx1.example.test" \
                --record "mx1.example.test A 127.0.0.2" \
                --record "_c.example.test TXT some text" ...
  dns_server.py --port-file F --zone-file Z

A TXT value that starts with '"' is a list of quoted character-strings
("v=DKIM1; ..." "..."), as a zone file writes a record over 255 bytes.
A zone file holds one record a line in the --record form; it is read again
for every query, so a test changes the answers by rewriting it (atomically:
write a temporary file, then rename). Every query is appended to F.log.

Names not listed get NXDOMAIN; listed names without the asked type get an
empty NOERROR answer (NODATA). Answers list records in the order given, so a
test can put the higher preference first. UDP only; runs until SIGTERM.

DNSSEC stand-in (certificate discovery, DANE): the server signs nothing; it
plays a validating resolver that has validated (or not) by the AD bit:
  "!ad"                          sets AD in every answer (validated);
  "NAME TLSA 3 1 1 HEX"          a TLSA record (RFC 6698; HEX: the data);
  "NAME SMIMEA 3 0 0 HEX"        an SMIMEA record (RFC 8162, type 53);
  "NAME SERVFAIL"                answers SERVFAIL (a bogus answer's fate);
  "NAME DROP"                    never answers (the client's timeout);
  "NAME NOAD [TYPE]"             clears AD in the answers for NAME (of TYPE
                                 only, when given), even with "!ad" (an
                                 insecure record set, DANE).
  "NAME CNAME TARGET"            an alias: a query for NAME of another type
                                 is answered with the CNAME and then, as a
                                 resolver does, TARGET's records of the type
                                 (chains followed; NXDOMAIN when the last
                                 target is not listed). SERVFAIL and NOAD on
                                 any name of the chain apply to the answer.
The log line of a query ends with its "ad" and "do" flags when set, so a
test can check what the client asked for.
"""
import argparse
import os
import re
import signal
import socket
import threading

from dnslib import AAAA, CNAME, MX, TLSA, TXT, A, DNSRecord, QTYPE, RCODE, RR

# Types dnslib has no name for (it maps 53 to a wrong name).
TYPE_NUMBERS = {"SMIMEA": 53}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record", action="append", default=[])
    ap.add_argument("--zone-file")
    args = ap.parse_args()

    def load():
        records = list(args.record)
        if args.zone_file and os.path.exists(args.zone_file):
            with open(args.zone_file) as f:
                records += [line.strip() for line in f if line.strip()]
        zone = {}
        for rec in records:
            if rec == "!ad":
                zone["!ad"] = True
                continue
            parts = rec.split()
            name = parts[0].rstrip(".").lower() + "."
            rtype = parts[1].upper()
            if rtype == "MX":
                rdata = MX(parts[3], int(parts[2]))
            elif rtype == "A":
                rdata = A(parts[2])
            elif rtype == "AAAA":
                rdata = AAAA(parts[2])
            elif rtype == "CNAME":
                rdata = CNAME(parts[2])
            elif rtype == "TXT":
                text = rec.split(None, 2)[2]
                # "a" "b": several character-strings (a zone file's form,
                # e.g. a DKIM key longer than 255 bytes); else one string.
                strings = re.findall(r'"([^"]*)"', text) if text.startswith('"') else []
                rdata = TXT(strings) if strings else TXT(text)
            elif rtype in ("TLSA", "SMIMEA"):
                rdata = TLSA(int(parts[2]), int(parts[3]), int(parts[4]), bytes.fromhex(parts[5]))
            elif rtype in ("SERVFAIL", "DROP"):
                rdata = None
            elif rtype == "NOAD":
                rdata = parts[2].upper() if len(parts) > 2 else None
            else:
                raise SystemExit("unsupported type " + rtype)
            zone.setdefault(name, []).append((rtype, rdata))
        return zone

    zone = load()

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
        qtype = QTYPE[req.q.qtype] if req.q.qtype not in TYPE_NUMBERS.values() else "SMIMEA"
        if args.zone_file:
            zone = load()
            flags = ""
            if req.header.ad:
                flags += " ad"
            if any(rr.rtype == QTYPE.OPT and rr.ttl & 0x8000 for rr in req.ar):
                flags += " do"
            with open(args.port_file + ".log", "a") as log:
                log.write("%s %s%s\n" % (qname, qtype, flags))
        # The names of the CNAME chain from qname (just qname without one).
        chain = [qname]
        while qtype != "CNAME" and len(chain) < 9:
            alias = [r for t, r in zone.get(chain[-1], []) if t == "CNAME"]
            if not alias:
                break
            reply.add_answer(RR(chain[-1], QTYPE.CNAME, rdata=alias[0], ttl=60))
            chain.append(str(alias[0].label).lower())
        kinds = [rtype for name in chain for rtype, _ in zone.get(name, [])]
        last = chain[-1]
        if "DROP" in kinds:
            continue
        if "SERVFAIL" in kinds:
            reply = req.reply()
            reply.header.rcode = RCODE.SERVFAIL
        elif last not in zone:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            for rtype, rdata in zone[last]:
                if rtype == qtype:
                    number = TYPE_NUMBERS.get(rtype) or getattr(QTYPE, rtype)
                    reply.add_answer(RR(last, number, rdata=rdata, ttl=60))
        insecure = any(t == "NOAD" and r in (None, qtype)
                       for name in chain for t, r in zone.get(name, []))
        reply.header.ad = 1 if zone.get("!ad") and not insecure else 0
        sock.sendto(reply.pack(), addr)


if __name__ == "__main__":
    main()
