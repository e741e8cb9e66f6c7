#!/usr/bin/python3
"""Turns smime_bench JSON output into the ratio table of the report.

engine/raw:   engine messages per second / raw key-operation rate (1.0 = at that limit)
engine/limit: engine messages per second / (raw key operation + SHA-256 and/or AES-256-CBC
              over the message), the physical limit for large messages
engine/naive: engine messages per second / naive OpenSSL CMS messages per second (>1 = faster)
engine/cms:   engine messages per second / the same engine on its previous path: CMS_encrypt
              instead of the prepared EnvelopedData encoder (EncryptOptions::use_cms; encrypt,
              sign+encrypt), every chain validated in full (VerifyOptions::use_chain_memo off;
              decrypt+verify)
engine/cmsdec: engine messages per second / the same engine with CMS_decrypt instead of the
              prepared decoder (DecryptOptions::use_prepared off; decrypt+verify only)
cpu/limit:    1 / engine/limit: CPU per message / raw crypto CPU (the issue 21 goal's form)
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
    raw, eng, naive, bulk, cms, cmsdec = {}, {}, {}, {}, {}, {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        mb = re.match(r"BM_RawBulk/op:(\d)/size:(\d+)", b["name"])
        if mb:
            bulk[(int(mb.group(1)), int(mb.group(2)))] = b["items_per_second"]
            continue
        m = re.match(r"BM_(\w+)/op:(\d)/alg:(\d)(?:/size:(\d+))?", b["name"])
        if not m or "items_per_second" not in b:
            continue
        kind, op, alg, size = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        r = b["items_per_second"]
        if kind == "Raw":
            raw[(op, alg)] = r
        elif kind == "Engine":
            eng[(op, alg, int(size))] = r
        elif kind == "EngineCms":
            cms[(op, alg, int(size))] = r
        elif kind == "EngineCmsDecrypt":
            cmsdec[(op, alg, int(size))] = r
        elif kind == "Naive":
            naive[(op, alg, int(size))] = r
    print("| op | key | size | engine/raw | engine/limit | cpu/limit | engine/naive | engine/cms |"
          " engine/cmsdec |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (op, alg, size), r in sorted(eng.items()):
        n = naive.get((op, alg, size))
        limit, cpu = "-", "-"
        if (op, size) in bulk:
            lim = r * (1 / raw[(op, alg)] + 1 / bulk[(op, size)])
            limit, cpu = "%.2f" % lim, "%.2f" % (1 / lim)
        c = cms.get((op, alg, size))
        d = cmsdec.get((op, alg, size))
        print("| %s | %s | %s | %.2f | %s | %s | %s | %s | %s |" % (
            OPS[op], ALGS[alg], size, r / raw[(op, alg)], limit, cpu,
            "%.2f" % (r / n) if n else "-", "%.2f" % (r / c) if c else "-",
            "%.2f" % (r / d) if d else "-"))


if __name__ == "__main__":
    main()
