#!/usr/bin/python3
"""Benchmark of the model scanner (`castellan scan`), side by side with a named baseline.

1. A PyTorch checkpoint of SIZE bytes (default 1 GiB): a zip in PyTorch's layout
   (archive/data.pkl, archive/version and one stored tensor storage archive/data/0 holding the
   bytes), built with Python's zipfile from the data.pkl of picklescan's new_pytorch_model.bin.
   Goal: scanned in well under a second (tensor data is skipped, not read).
2. A directory of 1,000 small pickles (copies of picklescan's benign and malicious pickle
   fixtures). Goal: at least 20 times faster than picklescan, run on Debian's python3 from the
   source tree given in PICKLESCAN_SRC (picklescan is pure Python); without it the baseline is
   reported as skipped.

Each timing is the best of --rounds runs, with the files in the page cache. Max RSS of the
scanner (parent and confined child) comes from wait4. Exit status 0 only if every measured
goal is met.

usage: bench/scan.py CASTELLAN [--size BYTES] [--rounds N] [--workdir DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "models", "picklescan")


def run(cmd, env=None):
    """Wall seconds, exit status and max RSS (KiB) of cmd and the processes it waited for
    (the confined scanning children), measured for this run alone (wait4)."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, p.returncode, usage.ru_maxrss, err.decode(errors="replace")


def make_checkpoint(path, size):
    src = zipfile.ZipFile(os.path.join(DATA, "data", "new_pytorch_model.bin"))
    pkl = src.read("archive/data.pkl")
    block = os.urandom(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")
        with z.open(zipfile.ZipInfo("archive/data/0"), "w", force_zip64=True) as f:
            left = size
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n


def make_pickles(d, n):
    fixtures = [os.path.join(DATA, sub, f) for sub in ("data", "data2")
                for f in sorted(os.listdir(os.path.join(DATA, sub)))
                if f.endswith((".pkl", ".pickle"))]
    os.makedirs(d)
    for i in range(n):
        shutil.copy(fixtures[i % len(fixtures)], os.path.join(d, "m%04d.pkl" % i))


def warm(path):
    for root, _, files in os.walk(path) if os.path.isdir(path) else [("", [], [path])]:
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                while fh.read(1 << 24):
                    pass


def best(cmd, rounds, env=None):
    runs = [run(cmd, env) for _ in range(rounds)]
    return min(r[0] for r in runs), runs[-1][1], max(r[2] for r in runs), runs[-1][3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("castellan")
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cst-scan-bench-", dir=a.workdir)
    ok = True
    try:
        ckpt = os.path.join(work, "model.pt")
        make_checkpoint(ckpt, a.size)
        warm(ckpt)
        wall, code, rss, err = best([a.castellan, "scan", ckpt], a.rounds)
        goal = wall < 1.0 and code == 0
        ok &= goal
        print(f"PyTorch checkpoint of {a.size / 1e9:.2f} GB: castellan scan {wall * 1000:.1f} ms "
              f"(exit {code}), max RSS {rss / 1024:.1f} MiB   goal < 1 s: "
              f"{'PASS' if goal else 'FAIL'}")
        if code != 0:
            print("  " + err.strip())

        pk = os.path.join(work, "pickles")
        make_pickles(pk, 1000)
        warm(pk)
        wall, code, rss, _ = best([a.castellan, "scan", pk], a.rounds)
        print(f"1,000 pickles: castellan scan {wall * 1000:.1f} ms (exit {code}; the set holds "
              f"malicious files), max RSS {rss / 1024:.1f} MiB")
        src = os.environ.get("PICKLESCAN_SRC")
        if src:
            env = dict(os.environ, PYTHONPATH=os.path.join(src, "src"))
            pwall, pcode, _, perr = best(["/usr/bin/python3", "-m", "picklescan", "--path", pk],
                                         a.rounds, env)
            ratio = pwall / wall
            goal = ratio >= 20
            ok &= goal
            print(f"1,000 pickles: picklescan {pwall * 1000:.1f} ms (exit {pcode}) -> castellan "
                  f"is {ratio:.1f}x faster   goal >= 20x: {'PASS' if goal else 'FAIL'}")
        else:
            print("1,000 pickles: picklescan baseline skipped (set PICKLESCAN_SRC to a picklescan "
                  "source tree)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
