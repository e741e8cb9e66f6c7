#!/usr/bin/env python3
"""Writes a copy of a CMake compile database in which each unity-build source
(CMake's Unity/unity_N_<lang>.<ext>, which only #includes the real sources)
is replaced by one entry per source it includes, with the same command.

clang-tidy needs a compile command per file it checks; a target built with
UNITY_BUILD (cmd/smimegatectl) has commands only for its unity sources.
Usage: compile_db_unity.py BUILD_DIR OUT_DIR  (writes OUT_DIR/compile_commands.json)
"""
import json
import os
import re
import sys

INCLUDE = re.compile(r'^#include "(/[^"]+)"\s*$')


def expand(entries):
    out = []
    for e in entries:
        path = e["file"]
        if os.sep + "Unity" + os.sep not in path or not os.path.basename(path).startswith("unity_"):
            out.append(e)
            continue
        try:
            with open(path, encoding="utf-8") as f:
                sources = [m.group(1) for m in map(INCLUDE.match, f) if m]
        except OSError as err:
            sys.exit(f"compile_db_unity: cannot read the unity source {path}: {err}")
        for src in sources:
            cmd = e["command"].replace(path, src)
            out.append({"directory": e["directory"], "command": cmd, "file": src})
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compile_db_unity.py BUILD_DIR OUT_DIR")
    with open(os.path.join(sys.argv[1], "compile_commands.json"), encoding="utf-8") as f:
        entries = json.load(f)
    os.makedirs(sys.argv[2], exist_ok=True)
    with open(os.path.join(sys.argv[2], "compile_commands.json"), "w", encoding="utf-8") as f:
        json.dump(expand(entries), f, indent=1)


if __name__ == "__main__":
    main()
