#!/usr/bin/python3
"""bench.proc_stats: ProcTree counts the CPU of a whole process tree exactly,
including children that have already exited (through the parent's cutime),
and RssSampler sees the tree's memory."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bench", "e2e"))
from proc_stats import ProcTree, RssSampler  # noqa: E402

# Parent: waits for a line on stdin, then runs a child that burns 0.3 s CPU
# and exits (reaped -> parent's cutime), then itself burns 0.2 s and holds
# 64 MB until stdin closes.
PARENT = r"""
import subprocess, sys, time
def burn(s):
    t = time.process_time()
    while time.process_time() - t < s:
        pass
sys.stdin.readline()
subprocess.run([sys.executable, "-c",
                "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"])
burn(0.2)
ballast = bytearray(64 << 20)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
print("done", flush=True)
sys.stdin.read()
"""


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def main():
    p = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)  # interpreter start-up is not part of the measured window
    tree = ProcTree([p.pid])
    check(tree.pids() == [p.pid], f"pids {tree.pids()}")
    c0 = tree.cpu_seconds()
    with RssSampler(tree, interval=0.01, pss=True) as sampler:
        p.stdin.write("go\n")
        p.stdin.flush()
        check(p.stdout.readline().strip() == "done", "child did not finish")
        time.sleep(0.05)
    cpu = tree.cpu_seconds() - c0
    # 0.3 (exited grandchild) + 0.2 (parent) + interpreter start of the grandchild.
    check(0.45 <= cpu <= 1.5, f"tree CPU {cpu:.2f} s, expected ~0.5-0.6 s")
    check(sampler.peak_bytes >= 64 << 20, f"peak RSS {sampler.peak_bytes}")
    check(sampler.peak_pss_bytes >= 60 << 20, f"peak PSS {sampler.peak_pss_bytes}")
    p.stdin.close()
    p.wait()
    check(tree.pids() == [] and tree.cpu_seconds() == 0, "a dead root is not followed")
    print("PASS")


if __name__ == "__main__":
    main()
