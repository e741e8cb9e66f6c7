#!/usr/bin/env python3
"""The library graph of docs/architecture.md, generated from CMake.

Configures the project in a scratch directory with `cmake --graphviz`
(tests and benchmarks off, so only the product targets), keeps our own
targets (sg_* libraries and the smimegate/smimegatectl programs) and the
"links" edges between them, and writes a Mermaid graph between the markers
<!-- library-graph:begin --> and <!-- library-graph:end --> of
docs/architecture.md.

    scripts/library_graph.py            rewrite docs/architecture.md
    scripts/library_graph.py --check    exit 1 (with a diff) when the
                                        committed graph is not the one the
                                        CMake files give (ctest docs.library_graph)
"""
import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DOC = os.path.join(ROOT, "docs", "architecture.md")
BEGIN, END = "<!-- library-graph:begin -->", "<!-- library-graph:end -->"
OURS = re.compile(r"^(sg_\w+|smimegate|smimegatectl)$")


def dot_graph():
    with tempfile.TemporaryDirectory(prefix="sg-graph-") as build:
        with open(os.path.join(build, "CMakeGraphVizOptions.cmake"), "w") as f:
            # Only targets: no per-target files, no external libraries as nodes.
            f.write("set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)\n"
                    "set(GRAPHVIZ_GENERATE_DEPENDERS FALSE)\n"
                    "set(GRAPHVIZ_EXTERNAL_LIBS FALSE)\n")
        r = subprocess.run(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja",
                            "-DSMIMEGATE_BUILD_TESTS=OFF", "-DSMIMEGATE_BUILD_BENCH=OFF",
                            "--graphviz=" + os.path.join(build, "graph.dot")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("cmake failed:\n" + r.stdout + r.stderr)
        with open(os.path.join(build, "graph.dot")) as f:
            return f.read()


def mermaid(dot):
    names = dict(re.findall(r'"(node\d+)"\s*\[\s*label\s*=\s*"([^"]+)"', dot))
    edges = set()
    for a, b in re.findall(r'"(node\d+)"\s*->\s*"(node\d+)"', dot):
        x, y = names.get(a, ""), names.get(b, "")
        if OURS.match(x) and OURS.match(y) and x != y:
            edges.add((x, y))
    nodes = sorted({n for e in edges for n in e})
    lines = ["```mermaid", "graph TD"]
    lines += [f"  {x} --> {y}" for x, y in sorted(edges)]
    lines += [f"  {n}" for n in nodes if not any(n in e for e in edges)]
    lines.append("```")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(DOC) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"{DOC}: markers {BEGIN} / {END} missing")
    head, rest = doc.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    new = "\n" + mermaid(dot_graph())
    if args.check:
        if old != new:
            print("FAIL: docs/architecture.md's library graph differs from the CMake files "
                  "(run scripts/library_graph.py and commit):")
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       "committed", "cmake", n=0))
            return 1
        print("ok: the library graph matches the CMake files")
        return 0
    with open(DOC, "w") as f:
        f.write(head + BEGIN + new + END + tail)
    print(f"wrote the library graph to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
