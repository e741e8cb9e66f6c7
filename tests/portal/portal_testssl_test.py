#!/usr/bin/python3
"""testssl.sh (Debian) against the portal of a `smimegate run` (issue 17):
protocols, cipher categories, forward secrecy, the known vulnerabilities and
the HTTP security headers; no finding rated HIGH or CRITICAL, TLS 1.0/1.1
not offered, HSTS present.

Usage: portal_testssl_test.py <smimegate> <smimegatectl>
Exit 77 (skipped) when testssl.sh is not installed.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portal_harness import Gateway  # noqa: E402


def main():
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if not testssl:
        print("SKIP: testssl.sh not installed")
        sys.exit(77)
    gw = Gateway(sys.argv[1], sys.argv[2])
    try:
        gw.start()
        out = os.path.join(gw.work, "testssl.json")
        subprocess.run(["nice", "-n", "10", testssl, "--quiet", "--warnings", "off", "--color", "0",
                        "--protocols", "--std", "--fs", "--vulnerable", "--headers",
                        "--jsonfile", out, f"127.0.0.1:{gw.portal}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        findings = json.load(open(out))
        by_id = {f["id"]: f for f in findings}
        bad = [f"{f['id']} ({f['severity']}): {f['finding']}" for f in findings
               if f.get("severity") in ("HIGH", "CRITICAL")]
        for i in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            if not by_id.get(i, {}).get("finding", "").startswith("not offered"):
                bad.append(f"{i}: {by_id.get(i, {}).get('finding', 'missing')}")
        if by_id.get("HSTS_time", {}).get("severity") != "OK":
            bad.append(f"HSTS: {by_id.get('HSTS_time', {}).get('finding', 'missing')}")
        for b in bad:
            print("testssl:", b)
        if bad:
            sys.exit(1)
        print(f"PASS: testssl.sh, {len(findings)} findings, none HIGH or CRITICAL")
    finally:
        gw.stop()


main()
