#!/usr/bin/python3
"""ctest bench.e2e_smoke: the end-to-end benchmark harness in its smoke profile
(bench/e2e/e2e_bench.py --smoke: every scenario at 2 KB, embedded, RSA-2048,
small counts, with the Postfix relay and DIY baselines and the crypto limit).

Fails when the harness fails (a lost or duplicated message, a wrong delivered
form: sign not signed, sign+encrypt not encrypted, decrypt+verify not
decrypted and marked), or when an output file or a field the report relies
on is missing. Performance targets are not asserted (a shared CI machine).

Usage: e2e_smoke_test.py --build-dir DIR [--loadgen P] [--crypto-limit P]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCENARIOS = ["relay", "sign", "sign_encrypt", "decrypt_verify"]
RUN_FIELDS = ["msgs_per_s", "p50_ms", "p99_ms", "p999_ms", "cpu_s_per_1000", "peak_rss_mb",
              "delivered", "lost", "duplicates", "duration_s", "loadgen"]
LOADGEN_FIELDS = ["run_id", "sent", "accepted", "rejected_4xx", "rejected_5xx", "connection_errors",
                  "delivered", "lost", "duplicates", "foreign", "bytes_sent", "duration_s",
                  "send_duration_s", "throughput_msgs_per_s", "submit_latency_ms", "e2e_latency_ms",
                  "rate_target", "connections", "size"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--loadgen")
    ap.add_argument("--crypto-limit")
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="sg-e2e-smoke-")
    errors = []

    def check(cond, what):
        if not cond:
            errors.append(what)
        return cond

    cmd = ["/usr/bin/python3", os.path.join(REPO, "bench/e2e/e2e_bench.py"), "--smoke",
           "--build-dir", a.build_dir, "--out", out]
    if a.loadgen:
        cmd += ["--loadgen", a.loadgen]
    if a.crypto_limit:
        cmd += ["--crypto-limit", a.crypto_limit]
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=280)
    took = time.time() - t0
    print(r.stdout[-6000:])
    check(r.returncode == 0, f"harness exit {r.returncode}")
    # The profile is sized for < 90 s (about 50 s on a quiet 2-core machine);
    # a loaded CI machine may take longer, which is a warning, not a defect,
    # until it is far off.
    if took > 90:
        print(f"warning: smoke run took {took:.0f} s (target < 90 s)")
    check(took < 180, f"smoke run took {took:.0f} s (target < 90 s)")

    for name in ("report.md", "results.json", "throughput.png", "ratios.png", "latency.png"):
        p = os.path.join(out, name)
        if check(os.path.isfile(p) and os.path.getsize(p) > 200, f"{name} missing or empty"):
            if name.endswith(".png"):
                with open(p, "rb") as f:
                    check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG")
    try:
        with open(os.path.join(out, "results.json")) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        errors.append(f"results.json unreadable: {e}")
        res = None

    if res is not None:
        check(not res.get("failures"), f"harness failures: {res.get('failures')}")
        mach = res.get("meta", {}).get("machine", {})
        for k in ("cores", "cpu_model", "kernel", "openssl", "postfix"):
            check(mach.get(k), f"meta.machine.{k} missing")
        check(res.get("meta", {}).get("command"), "meta.command missing")
        lim = res.get("crypto_limit", {}).get("rsa2048")
        check(isinstance(lim, dict) and lim, "crypto_limit.rsa2048 missing")
        checks = res.get("checks", {}).get("embedded/rsa2048", {})
        for sc in SCENARIOS:
            check(checks.get(sc) == "ok", f"delivered form of {sc}: {checks.get(sc)}")
        runs = res.get("runs", [])

        def runs_of(system, sc, phase="peak"):
            return [x for x in runs if x.get("system") == system and x.get("scenario") == sc
                    and x.get("phase") == phase]

        expected = [("smimegate", sc, "peak") for sc in SCENARIOS]
        expected += [("smimegate", sc, "half_peak") for sc in SCENARIOS]
        expected += [("postfix_relay", "relay", "peak"), ("diy", "sign", "peak"),
                     ("diy", "sign_encrypt", "peak")]
        for system, sc, phase in expected:
            got = runs_of(system, sc, phase)
            if not check(len(got) == 1, f"{system} {sc} {phase}: {len(got)} runs"):
                continue
            x = got[0]
            for f in RUN_FIELDS:
                check(f in x and x[f] is not None, f"{system} {sc} {phase}: field {f} missing")
            for f in LOADGEN_FIELDS:
                check(f in x.get("loadgen", {}), f"{system} {sc} {phase}: loadgen field {f} missing")
            for p in ("p50", "p99", "p999", "max"):
                v = x.get("loadgen", {}).get("e2e_latency_ms", {}).get(p)
                check(isinstance(v, (int, float)) and v > 0,
                      f"{system} {sc} {phase}: e2e_latency_ms.{p} = {v}")
            check(x.get("lost") == 0 and x.get("duplicates") == 0,
                  f"{system} {sc} {phase}: lost {x.get('lost')}, duplicates {x.get('duplicates')}")
            check((x.get("delivered") or 0) > 0 and x.get("delivered") == x["loadgen"].get("accepted"),
                  f"{system} {sc} {phase}: delivered {x.get('delivered')} of {x['loadgen'].get('accepted')}")
            check((x.get("msgs_per_s") or 0) > 0, f"{system} {sc} {phase}: no throughput")
            check((x.get("cpu_s_per_1000") or 0) > 0, f"{system} {sc} {phase}: no CPU accounted")
            check((x.get("peak_rss_mb") or 0) > 1, f"{system} {sc} {phase}: no RSS sampled")
        rows = {x["scenario"]: x for x in res.get("rows", [])}
        for sc in SCENARIOS:
            row = rows.get(sc)
            if not check(row is not None, f"row {sc} missing"):
                continue
            want = ["half_peak_p99_ms"]
            if sc != "relay":
                want += ["raw_crypto_s_per_msg", "crypto_limit_msgs_per_s", "thr_vs_limit", "cpu_vs_raw"]
            if sc != "decrypt_verify":
                want += ["baseline_msgs_per_s", "thr_vs_baseline", "cpu_vs_baseline"]
            for f in want:
                v = row.get(f)
                check(isinstance(v, (int, float)) and not math.isnan(v) and v > 0,
                      f"row {sc}: {f} = {v}")
        names = {t["target"] for t in res.get("targets", [])}
        check(len(res.get("targets", [])) >= 7, f"targets: {len(res.get('targets', []))}")
        for t in res.get("targets", []):
            check(t.get("pass") in (True, False), f"target {t.get('target')} {t.get('where')}: "
                  f"not evaluated ({t.get('detail')})")
        check(any("Postfix" in n for n in names) and any("DIY" in n for n in names)
              and any("raw crypto" in n for n in names) and any("half peak" in n for n in names),
              f"target list incomplete: {sorted(names)}")
    try:
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        for s in ("## Targets", "## Machine", "| sign+encrypt | 2 KB |", "| decrypt+verify | 2 KB |",
                  "Postfix relay", "DIY", "--smoke"):
            check(s in md, f"report.md lacks {s!r}")
    except OSError:
        pass

    if errors:
        print(f"FAIL (results kept in {out}):\n  " + "\n  ".join(errors))
        return 1
    shutil.rmtree(out, ignore_errors=True)
    print(f"bench.e2e_smoke: OK in {took:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
