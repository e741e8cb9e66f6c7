#!/usr/bin/python3
"""ctest bench.e2e_scaling_quick: bench/e2e/e2e_bench.py --scaling --quick
(the distributed mode, 1 and 2 workers, each in its own CPU cgroup).

Fails when the harness fails (a lost or duplicated message, a wrong
sign+encrypt form), when a worker's thread count does not follow its cgroup
quota, when a run or a CPU figure the report relies on is missing, or when a
cgroup the harness made is left behind. The scaling ratio is reported, not
asserted (a shared CI machine). Skipped (77) without a writable CPU cgroup.

Usage: e2e_scaling_test.py --build-dir DIR --loadgen P
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "bench", "e2e"))
import e2e_cgroup  # noqa: E402

SKIPPED = 77


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--loadgen", required=True)
    a = ap.parse_args()
    try:
        _, parent = e2e_cgroup.find_cpu_root()
    except e2e_cgroup.CgroupUnavailable as e:
        print(f"SKIP: {e}")
        return SKIPPED
    out = tempfile.mkdtemp(prefix="sg-e2e-scaling-")
    cmd = ["/usr/bin/python3", os.path.join(REPO, "bench/e2e/e2e_bench.py"), "--scaling", "--quick",
           "--build-dir", a.build_dir, "--loadgen", a.loadgen, "--out", out]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=400)
    print(r.stdout[-6000:])
    errors = []
    if r.returncode == SKIPPED:
        print("SKIP: the harness found no writable CPU cgroup")
        return SKIPPED
    if r.returncode != 0:
        errors.append(f"harness exit {r.returncode}")
    left = [d for d in glob.glob(os.path.join(parent, "smimegate-bench-*")) if os.path.isdir(d)]
    if left:
        errors.append(f"cgroups left behind: {left}")
    try:
        with open(os.path.join(out, "scaling.json")) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        errors.append(f"scaling.json: {e}")
        res = {"runs": []}
    if not os.path.exists(os.path.join(out, "scaling.md")):
        errors.append("scaling.md missing")
    runs = {x["workers"]: x for x in res.get("runs", [])}
    if sorted(runs) != [1, 2]:
        errors.append(f"runs for worker counts {sorted(runs)}, expected [1, 2]")
    for n, run in runs.items():
        if not run.get("delivered") or run.get("lost") or run.get("duplicates"):
            errors.append(f"{n} workers: delivered {run.get('delivered')}, lost {run.get('lost')}, "
                          f"duplicates {run.get('duplicates')}")
        if run.get("worker_threads") != [1] * n:
            errors.append(f"{n} workers: threads {run.get('worker_threads')}, expected one each "
                          "(the 0.3 CPU quota)")
        cores = run.get("cores", {})
        for name in ["ingress", "egress", "keyservice", "broker", "loadgen"]:
            if name not in cores:
                errors.append(f"{n} workers: no CPU figure for {name}")
        if len([k for k in cores if k.startswith("worker-")]) != n:
            errors.append(f"{n} workers: CPU figures {sorted(cores)}")
        if run.get("ratio") is None:
            errors.append(f"{n} workers: no ratio")
    if res.get("checks", {}).get("sign_encrypt") != "ok":
        errors.append(f"sign+encrypt form: {res.get('checks')}")
    if errors:
        print("FAILED:\n  " + "\n  ".join(errors))
        print(f"results kept in {out}")
        return 1
    shutil.rmtree(out, ignore_errors=True)
    print("e2e scaling quick: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
