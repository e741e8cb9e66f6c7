#!/usr/bin/python3
"""Turns smime_bench JSON output into the ratio table of the report.

engine/raw:   engine messages per second / raw key-operation rate (the limit, 1.0 = at the limit)
engine/naive: engine messages per second / naive OpenSSL CMS messages per second (>1 = faster)
Usage: smime_ratios.py smime.json
"""
import json
import re
import sys

OPS = ["sign", "encrypt", "sign+encrypt", "decrypt+verify"]
ALGS = ["rsa2048", "p256"]


def rate(b):
    return b.get("items_per_second") or 1e9 / b["real_time"] * (1 if b["time_unit"] == "ns" else 1)


def main():
    data = json.load(open(sys.argv[1]))
    raw, eng, naive = {}, {}, {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        m = re.match(r"BM_(\w+)/op:(\d)/alg:(\d)(?:/size:(\d+))?", b["name"])
        if not m:
            continue
        kind, op, alg, size = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        r = b["items_per_second"]
        if kind == "Raw":
            raw[(op, alg)] = r
        elif kind == "Engine":
            eng[(op, alg, int(size))] = r
        elif kind == "Naive":
            naive[(op, alg, int(size))] = r
    print("| op | key | size | engine msg/s | engine/raw | engine/naive |")
    print("|---|---|---|---|---|---|")
    for (op, alg, size), r in sorted(eng.items()):
        n = naive.get((op, alg, size))
        print("| %s | %s | %s | %.0f | %.2f | %s |" % (
            OPS[op], ALGS[alg], size, r, r / raw[(op, alg)],
            "%.2f" % (r / n) if n else "-"))


if __name__ == "__main__":
    main()
