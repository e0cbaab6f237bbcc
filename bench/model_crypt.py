#!/usr/bin/python3
"""Benchmark of model encryption at rest (src/sign/crypt.h), side by side with named baselines.

Encrypts and decrypts a model directory holding one file of SIZE bytes (default 2 GiB) kept
in the page cache (the work directory defaults to /dev/shm, so reads, writes and fsync cost
memory bandwidth only, never a disk), one job, 1 MiB segments, and prints for each direction
(median of --rounds timed rounds after an untimed warm-up round)
the wall-clock GB/s, the GB/s per core (bytes / CPU seconds of the process, user + system)
and the maximum RSS, next to two baselines measured on the same machine in the same run:
  - "openssl": `openssl speed -evp aes-256-gcm` on 1 MiB blocks, the AES-256-GCM ceiling of
    one core (no I/O at all);
  - "copy": a plain copy of the same file (sendfile), the cost of the I/O alone.
Goal: >= 1 GB/s per core for encryption and for decryption, with memory bounded (2 segments
per job, independent of the file size). The decrypted file is compared with the original.

Runs through bench_model_crypt (bench/model_crypt_bench.c: the directory layer with a
software key wrap in place of the HSM), and, when CASTELLAN is given and has `model
encrypt`, also through the CLI with a SoftHSM2 token (the wrap then happens in the token).

usage: bench/model_crypt.py BENCH_MODEL_CRYPT [CASTELLAN] [--size BYTES] [--rounds N] [--workdir DIR]
Exit status 0 only if every measured direction meets the goal.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

GOAL_GBPS_PER_CORE = 1.0
SEG = 1 << 20
MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def run_measured(cmd, env=None):
    """Runs cmd; returns its wall and CPU (user + system) seconds, max RSS and output."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    out = p.stdout.read().decode()
    err = p.stderr.read().decode()
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime,
            "sys": ru.ru_stime, "rss_mib": ru.ru_maxrss / 1024,
            "out": out, "err": err, "rc": os.waitstatus_to_exitcode(status)}


def openssl_ceiling():
    p = subprocess.run(["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", str(SEG),
                        "-seconds", "3"], capture_output=True, text=True)
    m = re.search(r"^AES-256-GCM\s+([0-9.]+)k\s*$", p.stdout, re.M)
    if not m:
        return None
    return float(m.group(1)) * 1000 / 1e9   # 'k' is 1000 bytes per second


def make_input(path, size):
    block = os.urandom(16 << 20)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def same(a, b):
    return subprocess.run(["cmp", "-s", a, b]).returncode == 0


def softhsm(work):
    """A token with one AES key in work/hsm; returns (env, key URI) or None."""
    if not (os.path.exists(MODULE) and shutil.which("softhsm2-util") and
            shutil.which("pkcs11-tool")):
        return None
    d = os.path.join(work, "hsm")
    os.makedirs(os.path.join(d, "tokens"))
    conf = os.path.join(d, "softhsm2.conf")
    with open(conf, "w") as f:
        f.write(f"directories.tokendir = {d}/tokens\nobjectstore.backend = file\n"
                "log.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "castellan", "--pin",
                    "1234", "--so-pin", "5678"], env=env, check=True, capture_output=True)
    subprocess.run(["pkcs11-tool", "--module", MODULE, "--token-label", "castellan", "--login",
                    "--pin", "1234", "--keygen", "--key-type", "AES:32", "--label", "bench",
                    "--usage-wrap", "--sensitive"], env=env, check=True, capture_output=True)
    return env, f"pkcs11:token=castellan;object=bench?module-path={MODULE}&pin-value=1234"


def report(rows, ceiling, size, n):
    print(f"\nmodel encryption at rest: one file of {size / 2**30:.2f} GiB in the page cache, "
          f"1 MiB segments, 1 job, {os.cpu_count()} CPUs; median of {n} rounds after a warm-up")
    print(f"{'what':<28} {'GB/s wall':>10} {'GB/s/core':>10} {'% openssl':>10} "
          f"{'user s':>7} {'sys s':>7} {'max RSS':>10}  goal")
    ok = True
    for name, r in rows:
        if r is None:
            continue
        gbw = size / r["wall"] / 1e9
        gbc = size / r["cpu"] / 1e9 if r.get("cpu") else None
        pct = f"{100 * gbc / ceiling:.0f}%" if ceiling and r.get("cpu") else "-"
        rss = f"{r['rss_mib']:.1f} MiB" if r.get("rss_mib") else "-"
        verdict = ""
        if r.get("goal"):
            passed = gbc >= GOAL_GBPS_PER_CORE
            ok = ok and passed
            verdict = "PASS" if passed else "FAIL"
        gbc_s = f"{gbc:.2f}" if gbc else "-"
        user = f"{r['user']:.2f}" if "user" in r else "-"
        sys_s = f"{r['sys']:.2f}" if "sys" in r else "-"
        print(f"{name:<28} {gbw:>10.2f} {gbc_s:>10} {pct:>10} {user:>7} {sys_s:>7} {rss:>10}"
              f"  {verdict}")
    if ceiling:
        print(f"{'openssl speed aes-256-gcm':<28} {'':>10} {ceiling:>10.2f} {'100%':>10}")
    print("(GB/s/core = bytes / (user + system CPU seconds); user is mostly AES-GCM, system the\n"
          " page-cache reads and writes, which on a VM varies with the host's page faults)")
    print(f"goal: >= {GOAL_GBPS_PER_CORE:.1f} GB/s per core for encryption and decryption: "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


def median_run(runs):
    """The run with the median wall time."""
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def rounds(name, enc_cmd, dec_cmd, src, enc, dec, env, n):
    """A warm-up round (untimed), then n timed rounds; returns [(label, median run)] for
    encrypt and decrypt. Each op's previous output is removed just before the op runs, so the
    op writes into memory the guest kernel still holds: on a VM with free page reporting
    (this one: page_reporting), memory freed seconds earlier has been handed back to the host
    and touching it again costs more system time than the encryption itself."""
    res = {"encrypt": [], "decrypt": []}
    for i in range(n + 1):
        for op, cmd, out in (("encrypt", enc_cmd, enc), ("decrypt", dec_cmd, dec)):
            shutil.rmtree(out, ignore_errors=True)
            r = run_measured(cmd, env)
            if r["rc"] != 0:
                sys.exit(f"{name} {op} failed: {r['err']}")
            r["goal"] = True
            if i > 0:
                res[op].append(r)
        if not same(os.path.join(src, "weights.bin"), os.path.join(dec, "weights.bin")):
            sys.exit(f"{name}: the decrypted file differs from the original")
    shutil.rmtree(enc)
    shutil.rmtree(dec)
    return [(f"encrypt ({name})", median_run(res["encrypt"])),
            (f"decrypt ({name})", median_run(res["decrypt"]))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("helper")
    ap.add_argument("castellan", nargs="?")
    ap.add_argument("--size", type=int, default=2 << 30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cst-bench-crypt-", dir=a.workdir)
    rows = []
    try:
        src = os.path.join(work, "model")
        os.mkdir(src)
        weights = os.path.join(src, "weights.bin")
        make_input(weights, a.size)
        ceiling = openssl_ceiling()
        enc, dec = os.path.join(work, "enc"), os.path.join(work, "dec")

        copies = []
        for i in range(a.rounds + 1):
            t = time.monotonic()
            shutil.copyfile(weights, os.path.join(work, "copy.bin"))
            if i > 0:
                copies.append({"wall": time.monotonic() - t})
            os.unlink(os.path.join(work, "copy.bin"))
        rows.append(("copy (sendfile, baseline)", median_run(copies)))

        rows += rounds("library", [a.helper, "encrypt", src, enc, str(SEG), "1"],
                       [a.helper, "decrypt", enc, dec, "1"], src, enc, dec, None, a.rounds)
        if a.castellan:
            probe = subprocess.run([a.castellan, "model", "encrypt", "--help"],
                                   capture_output=True, text=True)
            hsm = softhsm(work) if probe.returncode == 0 else None
            if hsm is None:
                print(f"(CLI not measured: {a.castellan} has no `model encrypt` or no SoftHSM2)")
            else:
                env, uri = hsm
                rows += rounds("castellan CLI",
                               [a.castellan, "model", "encrypt", src, "--key", uri, "--out", enc,
                                "--jobs", "1"],
                               [a.castellan, "model", "decrypt", enc, "--key", uri, "--out", dec,
                                "--jobs", "1"], src, enc, dec, env, a.rounds)
        ok = report(rows, ceiling, a.size, a.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
