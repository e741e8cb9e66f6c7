#!/usr/bin/python3
"""Verifies the DKIM signature of a message with dkimpy (Debian's
python3-dkim: a second DKIM implementation, independent of the OpenDKIM
library the gateway signs with).

  dkim_verify.py MESSAGE --record "NAME TXT-VALUE"       (the key given here)
  dkim_verify.py MESSAGE --dns 127.0.0.1:PORT            (asked from a DNS server)

--record: NAME is "<selector>._domainkey.<domain>", the value as the zone
line's strings ("v=DKIM1; ..." "...") or one plain string. --dns: the TXT
record is asked over UDP from a (test) DNS server with dnslib, and its
character-strings joined, as a resolver hands them to a verifier.

Prints "pass" and exits 0 when the first signature verifies; prints "fail"
and dkimpy's reason and exits 1 otherwise.
"""
import argparse
import re
import sys

import dkim
from dnslib import DNSRecord, QTYPE


def record_from_text(text):
    name, value = text.split(None, 1)
    strings = re.findall(r'"([^"]*)"', value)
    return name.rstrip(".").lower(), "".join(strings) if strings else value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("message")
    ap.add_argument("--record")
    ap.add_argument("--dns")
    args = ap.parse_args()
    with open(args.message, "rb") as f:
        message = f.read()

    def dnsfunc(name, timeout=5):
        qname = name.decode() if isinstance(name, bytes) else name
        qname = qname.rstrip(".").lower()
        if args.record:
            rname, value = record_from_text(args.record)
            return value.encode() if rname == qname else None
        host, port = args.dns.rsplit(":", 1)
        answer = DNSRecord.parse(DNSRecord.question(qname, "TXT").send(host, int(port),
                                                                        timeout=timeout))
        for rr in answer.rr:
            if rr.rtype == QTYPE.TXT:
                return b"".join(rr.rdata.data)
        return None

    d = dkim.DKIM(message)
    try:
        ok = d.verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        print("fail", e)
        return 1
    if ok:
        print("pass")
        return 0
    print("fail: the signature does not verify")
    return 1


if __name__ == "__main__":
    sys.exit(main())
