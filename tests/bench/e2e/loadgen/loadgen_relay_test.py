#!/usr/bin/python3
"""bench.loadgen_relay: smimegate-bench-smtp -> aiosmtpd relay -> its own sink.
The relay injects faults (duplicates, losses, an id moved into the body, a
folded lower-case id header, a foreign message, rejections, dropped
connections); the report must show each of them exactly.

Usage: loadgen_relay_test.py PATH/TO/smimegate-bench-smtp
"""
import json
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "support"))
from sgtest import free_port  # noqa: E402

BIN = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def with_relay(mode, args, expect_rc):
    relay_port, sink_port = free_port(), free_port()
    relay = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "loadgen_relay.py"),
                              str(relay_port), str(sink_port), mode],
                             stdout=subprocess.PIPE, text=True)
    try:
        check(relay.stdout.readline().strip() == "ready", f"{mode}: relay did not start")
        cmd = [BIN, "--target", f"127.0.0.1:{relay_port}", "--sink", f"127.0.0.1:{sink_port}",
               "--quiet"] + args
        t = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        print(f"[{mode}] {' '.join(args)} -> rc {p.returncode} in {time.monotonic() - t:.2f}s")
        if p.stderr.strip():
            print("  stderr:", p.stderr.strip().replace("\n", "\n          "))
        check(p.returncode == expect_rc, f"{mode}: exit {p.returncode}, want {expect_rc}")
        r = json.loads(p.stdout)
        print("  ", {k: r[k] for k in ("sent", "accepted", "rejected_4xx", "rejected_5xx",
                                       "delivered", "lost", "duplicates", "foreign",
                                       "connection_errors")})
        return r
    finally:
        relay.terminate()
        relay.wait(timeout=10)


def main():
    n = 60
    base = ["--messages", str(n), "--size", "3000", "--connections", "4"]

    r = with_relay("pass", base + ["--to", "a@x.example,b@x.example"], 0)
    check(r["sent"] == r["accepted"] == r["delivered"] == n, "pass: counts")
    check(r["lost"] == r["duplicates"] == r["foreign"] == 0, "pass: no faults")
    lat = r["e2e_latency_ms"]
    check(0 < lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"], f"pass: latency {lat}")

    r = with_relay("fold", base, 0)
    check(r["delivered"] == n and r["lost"] == 0, "fold: folded lower-case header is found")

    r = with_relay("dup", base, 1)
    check(r["delivered"] == n and r["duplicates"] == n and r["lost"] == 0, "dup: counted")

    r = with_relay("drop", base + ["--drain-timeout", "1"], 1)
    check(r["accepted"] == n and r["lost"] == n // 5 and r["delivered"] == n - n // 5,
          "drop: every 5th lost")
    check(r.get("drain_timed_out") is True, "drop: drain timed out")

    r = with_relay("body", base + ["--drain-timeout", "1"], 1)
    check(r["delivered"] == 0 and r["foreign"] == n and r["lost"] == n,
          "body: an id in the body is not a delivery")

    r = with_relay("foreign", base, 0)
    check(r["delivered"] == n and r["foreign"] == 1, "foreign: counted, not an error")

    r = with_relay("reject", ["--messages", "90", "--connections", "3", "--to",
                              "ok@x.example,reject@x.example,tempfail@x.example"], 0)
    check(r["sent"] == 90 and r["accepted"] == 30 and r["rejected_5xx"] == 30
          and r["rejected_4xx"] == 30 and r["delivered"] == 30 and r["lost"] == 0,
          "reject: 4xx/5xx counted, the connection keeps working (RSET)")

    r = with_relay("close", base, 0)
    check(r["sent"] == n and r["rejected_4xx"] == n // 10 and r["accepted"] == n - n // 10,
          "close: 421 counted")
    check(r["connection_errors"] == n // 10, "close: each 421 ends the connection")
    check(r["delivered"] == r["accepted"] and r["lost"] == 0, "close: reconnects and goes on")

    # Open loop against a server slower than the rate: latency counts from the
    # due time, so the queueing shows (no coordinated omission); the closed
    # loop against the same server only sees the service time.
    r = with_relay("slow", ["--messages", "40", "--rate", "100", "--connections", "1"], 0)
    lat = r["e2e_latency_ms"]
    check(r["delivered"] == 40 and r["rate_target"] == 100, "slow open loop: counts")
    check(lat["max"] > 1200 and lat["p50"] > 500, f"slow open loop: queueing hidden: {lat}")
    check(r["throughput_msgs_per_s"] < 30, f"slow: {r['throughput_msgs_per_s']} msgs/s")
    r = with_relay("slow", ["--messages", "10", "--connections", "1"], 0)
    lat = r["e2e_latency_ms"]
    check(40 <= lat["p50"] and lat["max"] < 400, f"slow closed loop: {lat}")

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
