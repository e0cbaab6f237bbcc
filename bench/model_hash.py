#!/usr/bin/python3
"""Benchmark of OMS model hashing (`castellan model hash`), side by side with named baselines.

A model directory of SIZE bytes (default 4 GiB: 8 files of 512 MiB of random bytes from
os.urandom) is written under $BENCH_DIR (default /tmp) and read twice so that it sits in the
page cache. Then, in ROUNDS interleaved rounds (best of each kept, the machine may be shared):

  castellan    `castellan model hash DIR` (files method, SHA-256, all online CPUs), with its
               wall time and maximum RSS (GNU time: memory is bounded, threads x 1 MiB);
  castellan-1  the same with --jobs 1 (one core), for scale;
  sha256sum    coreutils `sha256sum` over the same files (one process, one core); its digests
               must equal castellan's resource digests;
  ceiling      `openssl speed -evp sha256 -multi 2 -bytes 16384`: the two-core SHA-256
               throughput of this machine, measured every round (the best kept); the
               one-process figure is printed too (twice it bounds the ceiling from above).

Goals (issue): castellan >= 2x sha256sum, and >= 85% of the two-core SHA-256 ceiling.
MB = 10^6 bytes. The files are removed afterwards unless --keep.

usage: bench/model_hash.py [CASTELLAN] [--size 4G] [--files 8] [--rounds 3] [--keep]
       (CASTELLAN defaults to $CASTELLAN_BIN, then build-rel/castellan; build it with
       -DCMAKE_BUILD_TYPE=Release, e.g. with bench/model)
Exit status 0 only if both goals are met.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import json

GOAL_VS_SHA256SUM = 2.0
GOAL_VS_CEILING = 0.85
CHUNK = 8 << 20


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s.strip().upper())
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r} (e.g. 512M, 4G)")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def timed(cmd):
    """Runs cmd; returns (seconds, max RSS in MiB, stdout, exit code).

    The RSS comes from GNU time (/usr/bin/time -f %M) when it is installed: the ru_maxrss that
    wait4 reports for a child forked from this interpreter keeps the interpreter's own
    high-water mark across exec, which would hide the child's (smaller) figure.
    """
    gnu_time = os.path.exists("/usr/bin/time")
    full = ["/usr/bin/time", "-f", "CST-MAXRSS-KIB %M", *cmd] if gnu_time else cmd
    t = time.perf_counter()
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{cmd[0]} failed ({code}): {err}")
    m = re.search(r"^CST-MAXRSS-KIB (\d+)$", err, re.M)
    rss = int(m.group(1)) / 1024 if m else ru.ru_maxrss / 1024
    return secs, rss, out.decode(), code


def make_model(root, size, files):
    per = size // files
    names = []
    for i in range(files):
        name = f"model-{i + 1:05d}-of-{files:05d}.safetensors"
        with open(os.path.join(root, name), "wb") as f:
            left = per
            while left:
                n = min(CHUNK, left)
                f.write(os.urandom(n))
                left -= n
        names.append(name)
    return names


def warm(root, names):
    for n in names:
        with open(os.path.join(root, n), "rb") as f:
            while f.read(CHUNK):
                pass


def ceiling_mbps(multi=2):
    cmd = ["openssl", "speed", "-evp", "sha256", "-bytes", "16384", "-seconds", "2"]
    if multi > 1:
        cmd[2:2] = ["-multi", str(multi)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    vals = re.findall(r"^sha256\s+([\d.]+)k\s*$", out, re.M)
    if not vals:
        sys.exit("cannot parse `openssl speed` output:\n" + out)
    return float(vals[-1]) * 1000 / 1e6  # openssl prints 1000s of bytes per second


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("castellan", nargs="?",
                    default=os.environ.get("CASTELLAN_BIN", "build-rel/castellan"))
    ap.add_argument("--size", type=parse_size, default=parse_size("4G"))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.access(a.castellan, os.X_OK):
        sys.exit(f"{a.castellan}: not an executable (build with -DCMAKE_BUILD_TYPE=Release)")
    if mem_available() < a.size * 1.2:
        print(f"warning: {mem_available() >> 20} MiB available: {a.size >> 20} MiB may not "
              "stay in the page cache", file=sys.stderr)
    root = tempfile.mkdtemp(prefix="cst-model-hash-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    model = os.path.join(root, "model")
    os.mkdir(model)
    try:
        t = time.perf_counter()
        names = make_model(model, a.size, a.files)
        total = sum(os.path.getsize(os.path.join(model, n)) for n in names)
        print(f"model: {a.files} files, {total / 1e6:.0f} MB in {model} "
              f"(written in {time.perf_counter() - t:.1f} s)")
        warm(model, names)
        warm(model, names)

        best = {"castellan": None, "castellan-1": None, "sha256sum": None}
        rss = 0.0
        ceilings, singles = [], []
        cst_digests = ref_digests = None
        for r in range(a.rounds):
            secs, mib, out, _ = timed([a.castellan, "model", "hash", model, "--format", "json"])
            rss = max(rss, mib)
            h = json.loads(out)
            cst_digests = {x["name"]: x["digest"] for x in h["resources"]}
            best["castellan"] = min(secs, best["castellan"] or secs)
            secs, _, _, _ = timed([a.castellan, "model", "hash", model, "--jobs", "1"])
            best["castellan-1"] = min(secs, best["castellan-1"] or secs)
            secs, _, out, _ = timed(["sha256sum", *[os.path.join(model, n) for n in names]])
            ref_digests = {os.path.basename(line.split("  ", 1)[1]): line.split()[0]
                           for line in out.splitlines()}
            best["sha256sum"] = min(secs, best["sha256sum"] or secs)
            ceilings.append(ceiling_mbps())
            if r == 0 or r == a.rounds - 1:
                singles.append(ceiling_mbps(1))
        if cst_digests != ref_digests:
            sys.exit("castellan's resource digests differ from sha256sum's")
        ceiling = max(ceilings)
        mbps = {k: total / v / 1e6 for k, v in best.items()}
        vs_sum = mbps["castellan"] / mbps["sha256sum"]
        vs_ceiling = mbps["castellan"] / ceiling
        ncpu = os.cpu_count()
        print(f"\n{'tool':<34}{'best s':>9}{'MB/s':>10}")
        print(f"{'castellan model hash (' + str(ncpu) + ' CPUs)':<34}{best['castellan']:>9.3f}"
              f"{mbps['castellan']:>10.0f}   max RSS {rss:.1f} MiB")
        print(f"{'castellan model hash --jobs 1':<34}{best['castellan-1']:>9.3f}"
              f"{mbps['castellan-1']:>10.0f}")
        print(f"{'sha256sum (coreutils)':<34}{best['sha256sum']:>9.3f}"
              f"{mbps['sha256sum']:>10.0f}")
        print(f"{'openssl speed sha256 -multi 2':<34}{'':>9}{ceiling:>10.0f}   "
              f"(ceiling, runs: {', '.join(f'{c:.0f}' for c in ceilings)})")
        print(f"{'openssl speed sha256 (1 process)':<34}{'':>9}{max(singles):>10.0f}   "
              f"(x2 = {2 * max(singles):.0f}, for reference)")
        ok1 = vs_sum >= GOAL_VS_SHA256SUM
        ok2 = vs_ceiling >= GOAL_VS_CEILING
        print(f"\ncastellan / sha256sum       = {vs_sum:.2f}x  (goal >= {GOAL_VS_SHA256SUM}x) "
              f"{'PASS' if ok1 else 'FAIL'}")
        print(f"castellan / 2-core ceiling  = {vs_ceiling * 100:.1f}%  (goal >= "
              f"{GOAL_VS_CEILING * 100:.0f}%) {'PASS' if ok2 else 'FAIL'}")
        print(f"digests: castellan == sha256sum for all {len(names)} files; best of "
              f"{a.rounds} rounds")
        return 0 if ok1 and ok2 else 1
    finally:
        if a.keep:
            print(f"kept {model}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
