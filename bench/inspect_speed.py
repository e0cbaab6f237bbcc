#!/usr/bin/python3
"""Content-inspection benchmark (issue #3): builds a corpus of benign chat-like text from
../shared/data/benign (GSM8K questions and answers, self-instruct prompts), runs
bench_inspect on it (the engine with the default rule set on one core, the same rules through
PCRE2 alone, 16 KiB prompt latency, adversarial inputs, two threads), then GNU `grep -P` with
each rule over the same corpus, and prints every figure with the ratios. Every rate is per CPU
second (the timer's thread CPU clock; grep's user + system time), so that a shared, loaded
machine gives comparable figures.

usage: inspect_speed.py BENCH_INSPECT_BINARY [--mb N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BENIGN = os.path.join(ROOT, "..", "shared", "data", "benign")


def texts():
    for name in ("gsm8k/train.jsonl", "gsm8k/test.jsonl",
                 "self-instruct/user_oriented_instructions.jsonl",
                 "self-instruct/seed_tasks.jsonl"):
        with open(os.path.join(BENIGN, name), encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                for k in ("question", "answer", "instruction", "prompt"):
                    if isinstance(rec.get(k), str):
                        yield rec[k]
    t0 = os.path.join(BENIGN, "self-instruct", "t0")
    for name in sorted(os.listdir(t0)) if os.path.isdir(t0) else []:
        with open(os.path.join(t0, name), encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec.get("prompt"), str):
                    yield rec["prompt"]


def make_corpus(path, size):
    out = bytearray()
    while len(out) < size:
        for t in texts():
            out += t.encode("utf-8") + b"\n\n"
            if len(out) >= size:
                break
    with open(path, "wb") as f:
        f.write(out[:size])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("--mb", type=int, default=16)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cst-inspect-bench-")
    corpus = os.path.join(work, "corpus.txt")
    make_corpus(corpus, a.mb << 20)
    r = json.loads(subprocess.run([a.bench, corpus], capture_output=True, check=True,
                                  text=True).stdout)
    rules = json.loads(subprocess.run([a.bench, "--rules"], capture_output=True, check=True,
                                      text=True).stdout)
    # grep's CPU seconds (user + system of the children), like the engine's figures
    t = os.times()
    for rule in rules:
        subprocess.run(["grep", "-P", "-a", "-c"] + (["-i"] if rule["caseless"] else []) +
                       ["-e", rule["regex"], corpus], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    u = os.times()
    grep_s = (u.children_user - t.children_user) + (u.children_system - t.children_system)
    size = os.path.getsize(corpus)
    grep_mbs = size / grep_s / 1e6
    os.unlink(corpus)
    os.rmdir(work)
    print("all rates are MB per CPU second of the thread doing the work (load-independent)")
    print(f"corpus: {size / 1e6:.1f} MB of benign chat-like text (GSM8K, self-instruct), "
          f"{r['chunks']} prompts of 16 KiB; default input rule set: {r['rules']} rules")
    print(f"castellan engine, one core:   {r['engine_mb_s']:8.1f} MB/s   goal >= 1000: "
          f"{'PASS' if r['engine_mb_s'] >= 1000 else 'FAIL'}")
    print(f"same rules, PCRE2 alone:      {r['pcre2_only_mb_s']:8.1f} MB/s   "
          f"(engine {r['engine_mb_s'] / r['pcre2_only_mb_s']:.1f}x)")
    print(f"same rules, grep -P per rule: {grep_mbs:8.1f} MB/s   "
          f"(engine {r['engine_mb_s'] / grep_mbs:.1f}x)")
    print(f"16 KiB prompt CPU latency: p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us, "
          f"max {r['max_us']:.0f} us   goal p99 < 1000 us: "
          f"{'PASS' if r['p99_us'] < 1000 else 'FAIL'}")
    for adv in r["adversarial"]:
        v = adv["mb_s"]
        print(f"adversarial 1 MiB of {adv['name']:18s} {v:8.1f} MB/s   goal >= 100: "
              f"{'PASS' if v >= 100 else 'FAIL'}"
              f"{'' if adv['complete'] else '   (a limit was reached: blocked, fail closed)'}")
    print(f"streamed answer of one 60 KB word, a byte per event: {r['streamed_word_mb_s']:.1f} "
          f"MB/s (held back whole until it ends; rescans grow geometrically)")
    print(f"two threads: {r['two_threads_mb_s']:.1f} MB/s, scaling {r['scaling']:.2f}x   "
          f"goal >= 1.8: {'PASS' if r['scaling'] >= 1.8 else 'FAIL'}")
    print(f"  (side by side: {r['two_threads_cpu_s']:.2f} CPU s in {r['two_threads_wall_s']:.2f} "
          f"s wall = {r['two_threads_cpu_s'] / r['two_threads_wall_s']:.2f} cores busy; "
          f"wall-clock rate {r['two_threads_wall_mb_s']:.1f} MB/s)")
    print(f"benign prompts blocked: {r['blocked_chunks']} of {r['chunks']}")


if __name__ == "__main__":
    main()
