#!/usr/bin/python3
"""Benchmark of the tamper-evident log (issue #5), side by side with named baselines.

1. Acknowledged appends: records per second and p50/p99 acknowledgement latency for 256 B,
   1 KiB and 16 KiB records, with an fdatasync per record (one client), with group commit
   (CLIENTS closed-loop clients) and without fsync (NOT durable), next to the baseline
   "rawsync": one client appending the same bytes to a plain file with write + fdatasync.
   Goal: >= 50,000 acknowledged 1 KiB records per second with group commit.
2. Full verification of a log of RECORDS 1 KiB records with `castellan log verify`, next to
   the baseline "python": a straightforward Python (hashlib) verifier of the same segments
   computing the same RFC 6962 root. Goal: >= 500 MB/s, in bounded memory (max RSS printed).
3. Proof cost: `castellan log prove` at 10^3 records and at RECORDS (O(log n) hashes).

usage: bench/log.py CASTELLAN BENCH_LOG [WORKDIR]
env:   BENCH_LOG_RECORDS (default 1000000), BENCH_LOG_SECONDS (default 3),
       BENCH_LOG_CLIENTS (default 128)
Exit status 0 only if both goals are met.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

GOAL_GROUP_RPS = 50000
GOAL_VERIFY_MBPS = 500


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().split("\n")[-1])


def timed_child(cmd):
    """Runs cmd; returns (seconds, max RSS in MiB, CompletedProcess-like stdout, rc)."""
    t = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    out = p.stdout.read().decode()
    return time.time() - t, ru.ru_maxrss / 1024, out, os.waitstatus_to_exitcode(status)


def python_verify(log):
    """The baseline: frames read with struct, leaves hashed with hashlib, RFC 6962 root."""
    frontier = []   # (level, hash) of the perfect subtrees, largest first
    size = total = 0
    for name in sorted(f for f in os.listdir(log) if f.endswith(".seg")):
        with open(os.path.join(log, name), "rb") as f:
            data = f.read()
        total += len(data)
        off = 32
        while off < len(data):
            n, = struct.unpack_from(">I", data, off + 4)
            payload = data[off + 16:off + 16 + n]
            h = hashlib.sha256(b"\x00" + payload).digest()
            if h != data[off + 16 + n:off + 48 + n]:
                raise SystemExit("python verifier: damaged frame")
            level = 0
            while frontier and frontier[-1][0] == level:
                h = hashlib.sha256(b"\x01" + frontier.pop()[1] + h).digest()
                level += 1
            frontier.append((level, h))
            size += 1
            off += 48 + n
    root = None
    for _, h in reversed(frontier):
        root = h if root is None else hashlib.sha256(b"\x01" + h + root).digest()
    return size, total, root


def main():
    castellan, bench = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp(prefix="cst-logbench-",
                                                                    dir="/var/tmp")
    records = int(os.environ.get("BENCH_LOG_RECORDS", "1000000"))
    secs = os.environ.get("BENCH_LOG_SECONDS", "3")
    clients = os.environ.get("BENCH_LOG_CLIENTS", "128")
    os.makedirs(work, exist_ok=True)
    ok = True
    print(f"log benchmark in {work} ({os.cpu_count()} CPUs; {secs} s per run)\n")
    print("1. acknowledged appends (records/s, p50 / p99 acknowledgement latency)")
    print(f"   {'size':>6} {'mode':<34} {'records/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    group_1k = 0
    for size in (256, 1024, 16384):
        rows = [("fsync per record (1 client)", ["each", "1"]),
                (f"group commit ({clients} clients)", ["group", clients]),
                (f"no fsync, NOT durable ({clients} cl.)", ["none", clients])]
        for label, (mode, n) in rows:
            d = os.path.join(work, f"a-{size}-{mode}")
            r = run_json([bench, "append", d, mode, str(size), n, secs])
            shutil.rmtree(d)
            print(f"   {size:>6} {label:<34} {r['records_per_s']:>10,.0f} "
                  f"{r['p50_us'] / 1000:>8.2f} {r['p99_us'] / 1000:>8.2f}")
            if size == 1024 and mode == "group":
                group_1k = r["records_per_s"]
        r = run_json([bench, "rawsync", os.path.join(work, "raw"), str(size), secs])
        print(f"   {size:>6} {'baseline rawsync (write+fdatasync)':<34} "
              f"{r['records_per_s']:>10,.0f} {r['p50_us'] / 1000:>8.2f} "
              f"{r['p99_us'] / 1000:>8.2f}")
        os.unlink(os.path.join(work, "raw"))
    met = group_1k >= GOAL_GROUP_RPS
    ok &= met
    print(f"   group commit, 1 KiB: {group_1k:,.0f} records/s (goal >= {GOAL_GROUP_RPS:,}): "
          f"{'met' if met else 'NOT met'}\n")

    print(f"2. full verification of {records:,} records of 1 KiB")
    log = os.path.join(work, "big")
    fill = run_json([bench, "fill", log, str(records), "1024"])
    vkey = os.path.join(work, "big.vkey")
    open(vkey, "w").write(open(os.path.join(log, "log.vkey")).read())
    seg_bytes = sum(os.path.getsize(os.path.join(log, f)) for f in os.listdir(log)
                    if f.endswith(".seg"))
    print(f"   filled in {fill['seconds']:.1f} s; {seg_bytes / 1e6:,.0f} MB of segments")
    subprocess.run(["cat"] + [os.path.join(log, f) for f in os.listdir(log)],
                   stdout=subprocess.DEVNULL)      # same page-cache state for both
    t, rss, out, rc = timed_child([castellan, "log", "verify", log, "--key", vkey])
    assert rc == 0 and f"INTACT: {records} records" in out, out[-500:]
    mbps = seg_bytes / 1e6 / t
    t0 = time.time()
    size, total, _ = python_verify(log)
    tp = time.time() - t0
    assert size == records
    print(f"   castellan log verify: {t:.2f} s, {mbps:,.0f} MB/s, max RSS {rss:.1f} MiB")
    print(f"   baseline python (hashlib): {tp:.2f} s, {total / 1e6 / tp:,.0f} MB/s")
    print(f"   ratio castellan/python: {tp / t:.1f}x")
    met = mbps >= GOAL_VERIFY_MBPS
    ok &= met
    print(f"   goal >= {GOAL_VERIFY_MBPS} MB/s: {'met' if met else 'NOT met'}\n")

    print("3. proofs (wall time of `castellan log prove`, process start included)")
    small = os.path.join(work, "small")
    run_json([bench, "fill", small, "1000", "1024"])
    for name, d, n in (("10^3", small, 1000), (f"{records:,}", log, records)):
        for kind, args in (("inclusion", ["--index", str(n // 3)]),
                           ("consistency", ["--consistency", str(n // 3)])):
            t, _, out, rc = timed_child([castellan, "log", "prove", d] + args)
            hashes = [l for l in out.split("\n\n")[0].split("\n")[1:] if len(l) == 44]
            print(f"   {name:>12} records, {kind:<11}: {len(hashes):>2} hashes, "
                  f"{t * 1000:.1f} ms")
    shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
