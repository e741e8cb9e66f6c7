#!/usr/bin/python3
"""The metric families of a running `smimegate run` are the committed list.

Starts `smimegate run` (embedded queue, every stage, ports chosen by the
kernel), scrapes /metrics and compares every family's name, type and help
text (the "# TYPE" and "# HELP" lines, present from the start for every
registered family) with tests/cmd/metric_families.txt. Renaming a metric or
changing its help text silently breaks dashboards and alerts; this test makes
it a deliberate change.

When a family is added, renamed or reworded on purpose:
    tests/cmd/metric_families_test.py --update build/cmd/smimegate/smimegate \
        tests/cmd/metric_families.txt
then document the family in docs/operations.md ("Metrics") and commit both.

Usage: metric_families_test.py [--update] <smimegate> <metric_families.txt>
"""
import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

CONFIG = """\
hosted_domains: [example.com]
metrics: {port: 0}
keyservice: {listen: 127.0.0.1:0, kek_file: kek, kek_create: true,
             admin_api: {enabled: true, port: 0, hostname: localhost}}
ingress:
  listeners:
    - {name: mx, address: 127.0.0.1, port: 0, role: mx}
    - {name: relay, address: 127.0.0.1, port: 0, role: relay, trusted_networks: [127.0.0.0/8]}
egress: {outbound: {transport: maildir}}
portal: {enabled: true, port: 0, hostname: localhost, kek_file: portal/kek, kek_create: true}
"""

HEADER = """\
# The metric families of `smimegate run`: name, type, help text.
# Checked by tests/cmd/metric_families_test.py; regenerate with its --update
# when a family is added or changed on purpose, and document it in
# docs/operations.md.
"""


def scrape(smimegate):
    smimegate = os.path.abspath(smimegate)
    with tempfile.TemporaryDirectory(prefix="sg-families-") as work:
        config = os.path.join(work, "smimegate.yaml")
        with open(config, "w") as f:
            f.write(CONFIG)
        log_path = os.path.join(work, "run.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([smimegate, "run", "-c", config], stdout=log, stderr=log,
                                    cwd=work)
        try:
            def ready_url():
                with open(log_path) as f:
                    text = f.read()
                if "smimegate ready" not in text:
                    return None
                m = re.search(r"(http://[0-9.:]+)/metrics", text)
                return m.group(1) if m else None
            base = sgtest.wait_until(ready_url, 30, what="'smimegate ready' in the log",
                                     proc=proc)
            return sgtest.wait_http(base + "/metrics", proc=proc)
        finally:
            sgtest.stop(proc)


def families(text):
    """'name type help' per family, sorted."""
    helps, types = {}, {}
    for line in text.splitlines():
        m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)$", line)
        if m:
            (helps if m.group(1) == "HELP" else types)[m.group(2)] = m.group(3)
    names = sorted(set(helps) | set(types))
    return [f"{n} {types.get(n, '?')} {helps.get(n, '?')}" for n in names]


def undocumented(names):
    """Families named in no docs/*.md file."""
    docs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")
    text = ""
    for name in sorted(os.listdir(docs)):
        if name.endswith(".md"):
            with open(os.path.join(docs, name), encoding="utf-8") as f:
                text += f.read()
    return [n for n in names if not re.search(re.escape(n) + r"(?![a-z_])", text)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--update", action="store_true")
    ap.add_argument("smimegate")
    ap.add_argument("list")
    args = ap.parse_args()
    got = families(scrape(args.smimegate))
    if not got:
        print("FAIL: /metrics has no families")
        return 1
    if args.update:
        with open(args.list, "w") as f:
            f.write(HEADER + "\n".join(got) + "\n")
        print(f"wrote {len(got)} families to {args.list}")
        return 0
    with open(args.list) as f:
        want = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    if got != want:
        print("FAIL: the metric families changed (- committed, + running):")
        sys.stdout.writelines(difflib.unified_diff([w + "\n" for w in want],
                                                   [g + "\n" for g in got], n=0))
        print("If deliberate: rerun with --update (see the docstring) and document the change.")
        return 1
    missing = undocumented([g.split(" ", 1)[0] for g in got])
    if missing:
        print("FAIL: families named in no docs/*.md file (document them in docs/operations.md,"
              " \"Metric reference\"):")
        for n in missing:
            print("  " + n)
        return 1
    print(f"ok: {len(got)} families as committed, all documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
