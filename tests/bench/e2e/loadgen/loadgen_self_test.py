#!/usr/bin/python3
"""bench.loadgen_self: runs smimegate-bench-smtp against its own sink
(--target self) and checks the JSON report the way the harness reads it.

Usage: loadgen_self_test.py PATH/TO/smimegate-bench-smtp
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "support"))
from sgtest import free_port  # noqa: E402

BIN = sys.argv[1]
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def run(args, expect_rc=0, timeout=30):
    t = time.monotonic()
    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t
    print(f"$ {' '.join(args)}  -> rc {p.returncode} in {took:.2f}s", flush=True)
    if p.stderr.strip():
        print("  stderr:", p.stderr.strip().replace("\n", "\n          "))
    check(p.returncode == expect_rc, f"{args}: exit {p.returncode}, want {expect_rc}")
    report = None
    if p.stdout.strip():
        lines = p.stdout.strip().splitlines()
        check(len(lines) == 1, f"{args}: stdout must be one JSON line, got {len(lines)}")
        report = json.loads(lines[0])
    return report, p.stderr


FIELDS = ["run_id", "sent", "accepted", "rejected_4xx", "rejected_5xx", "connection_errors",
          "delivered", "lost", "duplicates", "foreign", "bytes_sent", "duration_s",
          "send_duration_s", "throughput_msgs_per_s", "submit_latency_ms", "e2e_latency_ms",
          "rate_target", "connections", "size"]


def check_clean(r, n, label):
    for f in FIELDS:
        check(f in r, f"{label}: field {f} missing")
    check(r["sent"] == n, f"{label}: sent {r['sent']} != {n}")
    check(r["accepted"] == n, f"{label}: accepted {r['accepted']} != {n}")
    check(r["delivered"] == n, f"{label}: delivered {r['delivered']} != {n}")
    for f in ("lost", "duplicates", "foreign", "rejected_4xx", "rejected_5xx",
              "connection_errors"):
        check(r[f] == 0, f"{label}: {f} = {r[f]}")
    check(r["throughput_msgs_per_s"] > 0, f"{label}: throughput 0")
    check(r["duration_s"] > 0 and r["send_duration_s"] > 0, f"{label}: durations")
    for key in ("submit_latency_ms", "e2e_latency_ms"):
        lat = r[key]
        check(0 < lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"],
              f"{label}: {key} not ordered: {lat}")
        check(lat["count"] == n, f"{label}: {key} count {lat['count']}")


def main():
    with tempfile.TemporaryDirectory(prefix="loadgen-self-") as tmp:
        # 1. Closed loop, 300 x 2 KB over 8 connections; JSON also to a file.
        jpath = os.path.join(tmp, "r.json")
        r, _ = run(["--target", "self", "--messages", "300", "--size", "2048", "--connections",
                    "8", "--run-id", "small", "--json", jpath])
        check_clean(r, 300, "2KB")
        check(r["run_id"] == "small" and r["connections"] == 8 and r["size"] == 2048,
              "2KB: echo fields")
        check(r["rate_target"] is None, "2KB: closed loop has rate_target null")
        check(2048 * 300 * 0.95 <= r["bytes_sent"] <= 2048 * 300 * 1.1,
              f"2KB: bytes_sent {r['bytes_sent']}")
        with open(jpath) as f:
            check(json.load(f) == r, "2KB: --json file differs from stdout")

        # 2. 1 MB messages (lines and the terminator split across many reads).
        r, _ = run(["--target", "self", "--messages", "6", "--size", "1048576", "--connections",
                    "3"])
        check_clean(r, 6, "1MB")
        check(r["bytes_sent"] >= 6 * 1048576, f"1MB: bytes_sent {r['bytes_sent']}")

        # 3. Template with LF line ends and dot lines, dumped byte for byte.
        tpl = os.path.join(tmp, "tpl.eml")
        template = ("From: <a@example.org>\nTo: <b@example.org>\nSubject: template\n"
                    "Content-Type: text/plain\n\n.starts with a dot\n..two dots\n.\n"
                    "X-Bench-Id: in-the-body-is-ignored\nlast line\n")
        with open(tpl, "w", newline="") as f:
            f.write(template)
        dump = os.path.join(tmp, "dump")
        os.mkdir(dump)
        r, _ = run(["--target", "self", "--messages", "5", "--template", tpl, "--connections",
                    "2", "--run-id", "tpl", "--dump-dir", dump])
        check_clean(r, 5, "template")
        want_body = template.replace("\n", "\r\n").encode()
        files = sorted(os.listdir(dump))
        check(files == [f"tpl-{i}.eml" for i in range(5)], f"template: dump files {files}")
        for i in range(5):
            with open(os.path.join(dump, f"tpl-{i}.eml"), "rb") as f:
                got = f.read()
            check(got == f"X-Bench-Id: tpl-{i}\r\n".encode() + want_body,
                  f"template: message {i} not byte-identical: {got[:120]!r}")
        check(r["size"] == len(want_body) + len("X-Bench-Id: tpl-0\r\n"),
              f"template: size {r['size']}")

        # 4. Generated message in the dump: headers, size, ~--size bytes.
        dump2 = os.path.join(tmp, "dump2")
        os.mkdir(dump2)
        r, _ = run(["--target", "self", "--messages", "2", "--size", "4096", "--run-id", "gen",
                    "--from", "s@x.example", "--to", "r1@y.example,r2@y.example",
                    "--dump-dir", dump2])
        check_clean(r, 2, "generated")
        with open(os.path.join(dump2, "gen-1.eml"), "rb") as f:
            msg = f.read()
        head = msg.split(b"\r\n\r\n", 1)[0].decode()
        for h in ("From: <s@x.example>", "To: <r2@y.example>", "X-Bench-Id: gen-1",
                  "Message-ID: <gen-1@loadgen.bench>", "MIME-Version: 1.0", "Date: ",
                  "Subject: ", "Content-Type: text/plain"):
            check(h in head, f"generated: header {h!r} missing")
        check(abs(len(msg) - 4096) < 100, f"generated: size {len(msg)}")
        check(all(len(line) <= 76 for line in msg.split(b"\r\n")), "generated: long line")

        # 5. Open loop: 300 messages at 600/s take ~0.5 s; latency from due time.
        r, _ = run(["--target", "self", "--messages", "300", "--size", "2048", "--rate", "600",
                    "--connections", "4"])
        check_clean(r, 300, "rate")
        check(r["rate_target"] == 600, f"rate: rate_target {r['rate_target']}")
        check(0.45 <= r["duration_s"] <= 1.5, f"rate: duration {r['duration_s']} for 0.5 s plan")
        check(r["throughput_msgs_per_s"] <= 600 * 1.15, f"rate: {r['throughput_msgs_per_s']}/s")

        # 6. --duration, closed loop.
        r, _ = run(["--target", "self", "--duration", "0.5", "--size", "1024",
                    "--connections", "4"])
        check(r["sent"] > 0 and r["sent"] == r["accepted"] == r["delivered"], "duration: counts")
        check(r["lost"] == 0 and r["duplicates"] == 0, "duration: lost/dups")
        check(0.4 <= r["send_duration_s"] <= 2.0, f"duration: {r['send_duration_s']}")

        # 6b. --linger keeps the sink open after completion.
        t = time.monotonic()
        r, _ = run(["--target", "self", "--messages", "10", "--linger", "0.4"])
        check_clean(r, 10, "linger")
        check(time.monotonic() - t >= 0.4, "linger: returned before the linger time")

        # 7. Usage errors exit 2 with a message on stderr.
        for bad in (["--target", "self", "--connections", "0"],
                    ["--target", "mail.example:25"],
                    ["--target", "self", "--sink", "127.0.0.1"],
                    ["--target", "self", "--messages", "3", "--duration", "1"],
                    ["--target", "self", "--rate", "-1"],
                    ["--target", "self", "--template", os.path.join(tmp, "missing")],
                    ["--target", "self", "--to", "a@b,,c@d"],
                    ["--target", "self", "--bogus"],
                    ["--messages", "3"]):
            r, err = run(bad, expect_rc=2)
            check(r is None, f"{bad}: no JSON on a usage error")
            check(err.strip() != "", f"{bad}: stderr explains")

        # 8. Nothing listens at the target: exit 2, says so, counts the errors.
        port = free_port()
        r, err = run(["--target", f"127.0.0.1:{port}", "--messages", "10", "--connections",
                      "2", "--connect-timeout", "1"], expect_rc=2)
        check("cannot connect to target" in err, f"unreachable: stderr {err!r}")
        check(r is not None and r["connection_errors"] > 0 and r["sent"] == 0,
              f"unreachable: report {r}")

        # 9. The sink's port is busy: clear error, exit 2.
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r, err = run(["--target", "self", "--sink", f"127.0.0.1:{busy.getsockname()[1]}"],
                     expect_rc=2)
        check("cannot listen" in err, f"busy sink: stderr {err!r}")
        busy.close()

    # 10. Hostile servers: a malformed EHLO reply, and a server that never greets.
    for name, greeting, ehlo_reply, extra in (
            ("garbage", b"220 hi\r\n", b"hello there\r\n", []),
            ("silent", b"", b"", ["--reply-timeout", "0.3"])):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        stop = threading.Event()

        def serve(srv=srv, greeting=greeting, ehlo_reply=ehlo_reply, stop=stop):
            conns = []
            srv.settimeout(0.1)
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except OSError:
                    continue
                conns.append(c)
                c.sendall(greeting)
                if ehlo_reply:
                    c.settimeout(1)
                    try:
                        c.recv(100)
                        c.sendall(ehlo_reply)
                    except OSError:
                        pass
            for c in conns:
                c.close()

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        r, err = run(["--target", f"127.0.0.1:{srv.getsockname()[1]}", "--messages", "5",
                      "--connections", "2", "--connect-timeout", "1"] + extra, expect_rc=2)
        check("cannot connect to target" in err, f"{name}: stderr {err!r}")
        check(r is not None and r["connection_errors"] > 0 and r["sent"] == 0,
              f"{name}: report {r}")
        stop.set()
        th.join()
        srv.close()

    # 11. The sink speaks to a raw client: pipelined commands, NOOP/RSET/HELO,
    # unknown verbs, sequence errors, DATA split into 1-3 byte reads, QUIT.
    sink_port = free_port()
    lg = subprocess.Popen([BIN, "--target", "self", "--sink", f"127.0.0.1:{sink_port}",
                           "--rate", "20", "--duration", "1.5", "--connections", "1",
                           "--run-id", "raw"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", sink_port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        c.sendall(b"EHLO raw\r\nNOOP\r\nRSET\r\nMAIL FROM:<a@x> SIZE=99 BODY=8BITMIME\r\n"
                  b"RCPT TO:<b@x>\r\nDATA\r\n")
        message = (b"Subject: raw\r\nx-bench-id: raw-999999\r\n\r\n..dotted\r\n.\r\n"
                   b"HELO y\r\nFOO bar\r\nRCPT TO:<c@x>\r\nDATA\r\nMAIL FROM:<>\r\n"
                   b"MAIL FROM:<>\r\nQUIT\r\n")
        for i in range(0, len(message), 3):
            c.sendall(message[i:i + 3])
            time.sleep(0.001)
        data = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        c.close()
        codes = [line[:4].decode() for line in data.split(b"\r\n") if line]
        want = ["220 ", "250-", "250-", "250-", "250-", "250 ", "250 ", "250 ", "250 ", "250 ",
                "354 ", "250 ", "250 ", "502 ", "503 ", "554 ", "250 ", "503 ", "221 "]
        check(codes == want, f"raw sink session: replies {codes}")
        check(b"PIPELINING" in data, "raw sink session: EHLO advertises PIPELINING")
    finally:
        out, err = lg.communicate(timeout=20)
    r = json.loads(out)
    check(r["foreign"] == 1, f"raw: foreign {r['foreign']}")
    check(r["lost"] == 0 and r["delivered"] == r["accepted"] > 0, f"raw: own traffic {r}")

    # 12. --wait-sink-close: the run ends once the peer closed its cached
    # connection to the sink (or at the limit, reporting it still open).
    for close_after, limit, want_open in ((0.8, 5, 0), (None, 0.5, 1)):
        sink_port = free_port()
        t = time.monotonic()
        lg = subprocess.Popen([BIN, "--target", "self", "--sink", f"127.0.0.1:{sink_port}",
                               "--messages", "20", "--wait-sink-close", str(limit)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 5
        while True:
            try:
                idle = socket.create_connection(("127.0.0.1", sink_port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        idle.recv(100)  # greeting; then stay idle like a cached egress connection
        if close_after is not None:
            time.sleep(close_after)
            idle.sendall(b"QUIT\r\n")
        out, _ = lg.communicate(timeout=20)
        took = time.monotonic() - t
        idle.close()
        r = json.loads(out)
        check_clean(r, 20, "wait-sink-close")
        check(r["sink_sessions_open_at_exit"] == want_open,
              f"wait-sink-close: open at exit {r['sink_sessions_open_at_exit']} != {want_open}")
        if close_after is not None:
            check(close_after <= took < 3, f"wait-sink-close: took {took:.2f}s")
        else:
            check(limit <= took < 3, f"wait-sink-close limit: took {took:.2f}s")

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
