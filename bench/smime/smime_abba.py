#!/usr/bin/python3
"""Pairs the ABBA rounds of smime_bench's BM_EngineGcmDecrypt into ratios.

Each round runs decrypt+verify of one AES-256-GCM (AuthEnvelopedData) message with the
prepared decoder (prepared:1) and with CMS_decrypt (prepared:0), in alternating order
(0 1 1 0 0 1 1 0), so both see the same machine. Per algorithm and size it prints, over
the rounds, the median / min / max of
  cpu prepared/cms: CPU time per message, prepared decoder / CMS_decrypt (< 1 = cheaper)
  rate prepared/cms: messages per second (wall clock), prepared / CMS_decrypt (> 1 = faster)
Never quote a bare time: the machine is shared.
Usage: smime_bench --benchmark_filter=BM_EngineGcmDecrypt --benchmark_format=json > gcm.json
       smime_abba.py gcm.json
"""
import json
import re
import statistics
import sys


def main():
    data = json.load(open(sys.argv[1]))
    runs = {}
    for b in data["benchmarks"]:
        m = re.match(r"BM_EngineGcmDecrypt/alg:(\d)/size:(\d+)/prepared:(\d)/round:(\d+)", b["name"])
        if not m or b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        alg, size, prepared, rnd = (int(g) for g in m.groups())
        runs[(alg, size, rnd, prepared)] = b
    print("| alg | size | rounds | cpu prepared/cms (median, min-max) | rate prepared/cms |")
    print("|---|---|---|---|---|")
    for alg, size in sorted({(k[0], k[1]) for k in runs}):
        cpu, rate = [], []
        for rnd in sorted({k[2] for k in runs if k[:2] == (alg, size)}):
            a, b = runs.get((alg, size, rnd, 1)), runs.get((alg, size, rnd, 0))
            if a is None or b is None:
                continue
            cpu.append(a["cpu_time"] / b["cpu_time"])
            rate.append(a["items_per_second"] / b["items_per_second"])
        if not cpu:
            continue
        name = "RSA-2048" if alg == 0 else "P-256"
        print(f"| {name} | {size // 1024} KB | {len(cpu)} | {statistics.median(cpu):.2f} "
              f"({min(cpu):.2f}-{max(cpu):.2f}) | {statistics.median(rate):.2f} "
              f"({min(rate):.2f}-{max(rate):.2f}) |")


if __name__ == "__main__":
    main()
