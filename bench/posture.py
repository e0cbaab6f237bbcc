#!/usr/bin/python3
"""Benchmark of `castellan posture` on the real inputs: the 1,286 Pod Security Admission
conformance fixtures (../shared/data/k8s/psa) and the 106 KubeRay files (samples and the
operator's RBAC, ../shared/data/k8s/kuberay), checked in one run with every check on
(credentials included) and again without the credential check. Goal: under one second.

Baseline, side by side in the same run: PyYAML (Debian's python3-yaml, its C loader when
present) only parsing the same files, started as a process the same way, so the ratio says
how checking everything compares with merely reading the YAML in Python.

Each figure is the best of --rounds runs: wall time and CPU time (user + system of the child,
from wait4). Exit status 0 only if the goal is met on CPU time (the machine may be shared,
so wall time is printed but not judged).

usage: bench/posture.py CASTELLAN [--rounds N]
"""
import argparse
import os
import subprocess
import sys
import time

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "k8s")
INPUTS = [os.path.join(DATA, "psa"), os.path.join(DATA, "kuberay")]

PYYAML = r"""
import os, sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
n = 0
for top in sys.argv[1:]:
    for d, _, files in os.walk(top):
        for f in files:
            if f.endswith((".yaml", ".yml", ".json")):
                with open(os.path.join(d, f)) as fh:
                    n += sum(1 for _ in yaml.load_all(fh, Loader=Loader))
print(n)
"""


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), out


def best(cmd, rounds):
    res = [run(cmd) for _ in range(rounds)]
    return min(r[0] for r in res), min(r[1] for r in res), res[0][2], res[0][3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("castellan")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    files = sum(1 for top in INPUTS for _, _, fs in os.walk(top) for f in fs
                if f.endswith((".yaml", ".yml", ".json")))
    full = best([a.castellan, "posture", "--format", "json", *INPUTS], a.rounds)
    nocred = best([a.castellan, "posture", "--format", "json", "--no-credentials", *INPUTS],
                  a.rounds)
    base = best(["/usr/bin/python3", "-c", PYYAML, *INPUTS], a.rounds)
    if full[2] != 1:
        print(f"castellan posture exited {full[2]} (want 1: findings)")
        return 1
    print(f"inputs: {files} files")
    print(f"castellan posture, all checks:       wall {full[0]:.3f} s  cpu {full[1]:.3f} s")
    print(f"castellan posture, no credentials:   wall {nocred[0]:.3f} s  cpu {nocred[1]:.3f} s")
    print(f"PyYAML parse only ({base[3].decode().strip()} documents): wall {base[0]:.3f} s  "
          f"cpu {base[1]:.3f} s")
    print(f"ratio (PyYAML parse / castellan all checks, cpu): {base[1] / full[1]:.2f}x")
    ok = full[1] < 1.0
    print(f"goal: all files checked in under 1 s (cpu): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
