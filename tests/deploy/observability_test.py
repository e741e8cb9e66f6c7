#!/usr/bin/python3
"""The observability pack: deploy/k8s/monitoring/prometheusrule.yaml passes
`promtool check rules` and the unit tests in tests/deploy/alerts_test.yaml
(`promtool test rules`), and every metric that the alerts and the Grafana
dashboard (deploy/grafana/*.json) query is a family smimegate exports
(tests/cmd/metric_families.txt; histograms by their _bucket, _sum, _count).

Usage: observability_test.py   exit 0 ok, 1 on a failure, 77 (skipped)
                               without promtool
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRIC_RE = re.compile(r"\bsmimegate_[a-z0-9_]+")


def families():
    out = {}
    with open(os.path.join(REPO, "tests/cmd/metric_families.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, kind = line.split()[:2]
            out[name] = kind
    return out


def family_of(metric, known):
    if metric in known:
        return metric
    for suffix in ("_bucket", "_sum", "_count"):
        base = metric[: -len(suffix)] if metric.endswith(suffix) else None
        if base and known.get(base) == "histogram":
            return base
    return None


def unknown_metrics(exprs, known):
    return sorted({m for e in exprs for m in METRIC_RE.findall(e) if not family_of(m, known)})


def main():
    failures = []
    known = families()
    with open(os.path.join(REPO, "deploy/k8s/monitoring/prometheusrule.yaml")) as f:
        rule = yaml.safe_load(f)
    rule_exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    for m in unknown_metrics(rule_exprs, known):
        failures.append(f"prometheusrule.yaml queries {m}, which smimegate does not export")
    dashboards = glob.glob(os.path.join(REPO, "deploy/grafana/*.json"))
    if not dashboards:
        failures.append("no dashboard in deploy/grafana")
    for path in dashboards:
        with open(path) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        if not exprs:
            failures.append(f"{os.path.basename(path)} queries nothing")
        for m in unknown_metrics(exprs, known):
            failures.append(f"{os.path.basename(path)} queries {m}, which smimegate does not export")

    promtool = shutil.which("promtool")
    if promtool is None:
        print("\n".join("FAIL: " + f for f in failures))
        print("SKIP: promtool not found (scripts/setup-deps.sh installs prometheus)")
        return 1 if failures else 77
    with tempfile.TemporaryDirectory(prefix="smimegate-alerts-") as work:
        with open(os.path.join(work, "rules.yaml"), "w") as f:
            yaml.safe_dump(rule["spec"], f)
        shutil.copy(os.path.join(REPO, "tests/deploy/alerts_test.yaml"), work)
        for args in (["check", "rules", "rules.yaml"], ["test", "rules", "alerts_test.yaml"]):
            r = subprocess.run([promtool] + args, cwd=work, capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"promtool {' '.join(args)}:\n{r.stdout}{r.stderr}")
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        return 1
    print(f"observability: {len(rule_exprs)} alerts pass promtool check and test; "
          f"{len(dashboards)} dashboard(s) query only exported metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
