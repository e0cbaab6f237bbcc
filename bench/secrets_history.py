#!/usr/bin/python3
"""Benchmark of the history secret scan (`castellan secrets --git`), side by side with the
named baseline `git log -p --all | grep -P -c '<the same rules as one alternation>'`.

The repository is generated under /tmp by bench/secrets_gen.py (10,000 commits by default,
feature branches, merges, tags, fake credentials; reused when it exists). The rules are the
inspection engine's built-in secret rules (what `castellan secrets` applies by default),
printed by `bench_inspect --rules`; each becomes one branch of the grep alternation, (?i:...)
where the rule is caseless. (gitleaks' 221 rules as one alternation are over PCRE2's
compiled-size limit, so grep -P cannot run them as one pattern.)

Each side runs --rounds times with the repository in the page cache; the best wall time and
the CPU time (user + system, from wait4, the whole pipeline for the baseline) of that run are
printed with the ratios. The corpus is described first (commits, refs, objects, unique blobs
and their bytes, pack size). castellan runs with its compiled-matcher cache (src/core/hscache.h)
both cold (an empty CASTELLAN_CACHE_DIR each round: every Hyperscan database compiled and
written) and warm (the databases loaded), on every CPU (--jobs default) and on one thread
(--jobs 1); every run's findings must be the same. The reference scan (`--full-blobs`: every
changed blob inspected whole) runs too, and its findings must equal the default scan's (exit 2
otherwise). Goal: castellan (warm cache, default jobs) at least 10x faster than the baseline
in wall time. Exit 0 only if the goal is met.

usage: bench/secrets_history.py CASTELLAN BENCH_INSPECT [--commits N] [--repo DIR] [--rounds N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, shell=False, env=None, before=None):
    """Wall seconds, CPU seconds of the command and its children, exit status, stdout."""
    if before is not None:
        before()
    t = time.monotonic()
    p = subprocess.Popen(cmd, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         executable="/bin/bash" if shell else None, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), out


def best(cmd, rounds, shell=False, env=None, before=None):
    runs = [timed(cmd, shell, env, before) for _ in range(rounds)]
    return min(runs, key=lambda r: r[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("castellan")
    ap.add_argument("bench_inspect")
    ap.add_argument("--commits", type=int, default=10000)
    ap.add_argument("--repo", default="/tmp/cst-secrets-bench-repo")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not os.path.isdir(a.repo):
        gen = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "secrets_gen.py"), a.repo,
                              "--commits", str(a.commits)], capture_output=True, text=True,
                             check=True)
        print("generated:", gen.stdout.strip())
    commits = int(subprocess.run(["git", "-C", a.repo, "rev-list", "--all", "--count"],
                                 capture_output=True, text=True, check=True).stdout)
    rules = [r for r in json.loads(subprocess.run([a.bench_inspect, "--rules"],
                                                  capture_output=True, check=True).stdout)
             if r["id"].startswith("secret.")]
    alt = "|".join(("(?i:%s)" if r["caseless"] else "(?:%s)") % r["regex"] for r in rules)
    patfile = os.path.join(a.repo, ".git", "bench-alternation.txt")
    with open(patfile, "w") as f:
        f.write(alt)
    # warm the page cache
    subprocess.run(["git", "-C", a.repo, "log", "-p", "--all"], stdout=subprocess.DEVNULL,
                   check=True)
    cache = os.path.join(a.repo, ".git", "bench-castellan-cache")
    env = dict(os.environ, CASTELLAN_CACHE_DIR=cache)

    def empty_cache():
        shutil.rmtree(cache, ignore_errors=True)

    scan = [a.castellan, "secrets", "--format", "json", "--git", a.repo]
    kw, kc, kcode, kout = best(scan, a.rounds, env=env, before=empty_cache)
    cw, cc, code, out = best(scan, a.rounds, env=env)
    rep = json.loads(out)
    ow, oc, ocode, oout = best(scan + ["--jobs", "1"], a.rounds, env=env)
    fw, fc, fcode, fout = best(scan + ["--full-blobs"], a.rounds, env=env)
    ref = json.loads(fout)
    base = f"set -o pipefail; git -C '{a.repo}' log -p --all | grep -P -a -c -f '{patfile}'"
    gw, gc, gcode, gout = best(base, a.rounds, shell=True)
    objs = subprocess.run(["git", "-C", a.repo, "count-objects", "-v"], capture_output=True,
                          text=True, check=True).stdout
    packed = dict(l.split(": ") for l in objs.splitlines())
    print(f"corpus: {a.repo}: {commits} commits, {rep['stats']['refs']} refs, "
          f"{int(packed['in-pack']) + int(packed['count'])} objects "
          f"({int(packed['size-pack']) / 1024:.1f} MiB packed, {packed['count']} loose), "
          f"{rep['stats']['files']} unique blobs of {rep['stats']['bytes'] / 1e6:.1f} MB; "
          f"rules: {len(rules)} built-in secret rules")
    n = len(rep["findings"])
    print(f"castellan secrets --git, cold cache: {kw:7.2f} s wall  {kc:7.2f} s CPU  "
          f"({len(json.loads(kout)['findings'])} findings, exit {kcode})")
    print(f"castellan secrets --git, warm cache: {cw:7.2f} s wall  {cc:7.2f} s CPU  "
          f"({n} findings, exit {code})")
    print(f"  the same, --jobs 1 (warm):         {ow:7.2f} s wall  {oc:7.2f} s CPU  "
          f"({len(json.loads(oout)['findings'])} findings, exit {ocode})")
    print(f"  --full-blobs reference (warm):     {fw:7.2f} s wall  {fc:7.2f} s CPU  "
          f"({len(ref['findings'])} findings, exit {fcode})")
    print(f"git log -p | grep -P -c:             {gw:7.2f} s wall  {gc:7.2f} s CPU  "
          f"({gout.decode().strip()} matching lines, exit {gcode})")
    print(f"load average after the runs: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    key = lambda o: sorted(map(json.dumps, json.loads(o)["findings"]))
    same = key(out) == key(fout) == key(kout) == key(oout)
    print(f"findings of the default scan (cold, warm, --jobs 1) and the reference: "
          f"{'identical' if same else 'DIFFERENT'}")
    if not same:
        return 2
    print(f"ratio, cold cache: {gw / kw:.2f}x wall, {gc / kc:.2f}x CPU")
    ratio, cratio = gw / cw, gc / cc
    ok = ratio >= 10
    print(f"ratio, warm cache: {ratio:.2f}x wall, {cratio:.2f}x CPU   goal >= 10x wall: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
