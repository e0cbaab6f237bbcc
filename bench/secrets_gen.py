#!/usr/bin/python3
"""Generates a git repository for the secret-scanning benchmark (bench/secrets_history.py) with
`git fast-import`: COMMITS commits (default 10,000) over a tree of source, config and
documentation files in 16 directories, mostly on main, with feature branches (some merged back
with merge commits, some left unmerged), annotated tags every 500 commits, and fake credentials
sprinkled in (AWS access key ids, GitHub tokens with valid checksums, Slack tokens, private
keys), a third of them deleted again by a later commit. Each commit changes one to three files
by a few lines, as real commits do. Deterministic for a given seed.

usage: bench/secrets_gen.py DIR [--commits N] [--seed S]
Prints one JSON line: commits, files, secrets planted.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import zlib

WORDS = ("config request response handler token value index model layer batch update state "
         "result parse buffer stream client server session cache secret key record event "
         "metric worker queue policy schema field route endpoint retry timeout").split()
DIRS = ["src/core", "src/api", "src/models", "src/utils", "src/cli", "tests/unit",
        "tests/e2e", "docs", "docs/guide", "deploy/k8s", "deploy/ray", "notebooks",
        ".github/workflows", "scripts", "config", "examples"]
EXTS = {"src": ".py", "tests": ".py", "docs": ".md", "deploy": ".yaml", "notebooks": ".md",
        ".github": ".yml", "scripts": ".sh", "config": ".json", "examples": ".py"}
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def line(rng):
    k = rng.randint(3, 11)
    w = [rng.choice(WORDS) for _ in range(k)]
    form = rng.random()
    if form < 0.4:
        return f"    {w[0]}_{w[1]} = {w[2]}({', '.join(w[3:])})"
    if form < 0.6:
        return f"    # {' '.join(w)}"
    if form < 0.75:
        return f"{w[0]}: {w[1]}-{rng.randint(0, 9999)}"
    return " ".join(w)


def fake_secret(rng, i):
    kind = i % 4
    if kind == 0:
        return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    if kind == 1:
        body = "".join(rng.choice(B62) for _ in range(30))
        crc, tail = zlib.crc32(body.encode()), ""
        for _ in range(6):
            crc, r = divmod(crc, 62)
            tail = B62[r] + tail
        return "ghp_" + body + tail
    if kind == 2:
        return "xoxb-" + "-".join("".join(rng.choice("0123456789") for _ in range(12))
                                   for _ in range(2)) + "-" + "".join(
            rng.choice(B62) for _ in range(24))
    return "sk_live_" + "".join(rng.choice(B62) for _ in range(32))


class Gen:
    def __init__(self, out, seed):
        self.out = out
        self.rng = random.Random(seed)
        self.mark = 0
        self.time = 1_600_000_000
        self.secrets = 0
        self.pending_removal = []

    def w(self, s):
        self.out.write(s if isinstance(s, bytes) else s.encode())

    def commit(self, ref, files, changed, deleted, parents, msg):
        self.mark += 1
        self.time += self.rng.randint(60, 7200)
        who = self.rng.choice(["Alice <alice@example.com>", "Bob <bob@example.com>",
                               "Carol <carol@example.com>"])
        self.w(f"commit {ref}\nmark :{self.mark}\nauthor {who} {self.time} +0000\n"
               f"committer {who} {self.time} +0000\n")
        m = msg.encode()
        self.w(f"data {len(m)}\n")
        self.w(m + b"\n")
        if parents:
            self.w(f"from :{parents[0]}\n")
            for p in parents[1:]:
                self.w(f"merge :{p}\n")
        for path in sorted(deleted):
            self.w(f"D {path}\n")
        for path in sorted(changed):
            data = ("\n".join(files[path]) + "\n").encode()
            self.w(f"M 100644 inline {path}\ndata {len(data)}\n")
            self.w(data + b"\n")
        return self.mark

    def edit(self, files, n_secret_every):
        """One commit's worth of edits: returns the changed paths."""
        rng = self.rng
        changed = set()
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            path = rng.choice(sorted(files))
            lines = files[path]
            for _ in range(rng.randint(1, 4)):
                op = rng.random()
                pos = rng.randint(0, len(lines))
                if op < 0.55 or len(lines) < 20:
                    lines.insert(pos, line(rng))
                elif op < 0.85 and pos < len(lines):
                    lines[pos] = line(rng)
                elif pos < len(lines):
                    del lines[pos]
            changed.add(path)
        if rng.random() < 1.0 / n_secret_every:
            path = rng.choice(sorted(files))
            sec = fake_secret(rng, self.secrets)
            self.secrets += 1
            text = f"    api_token = \"{sec}\"" if self.secrets % 2 else f"KEY={sec}"
            files[path].insert(rng.randint(0, len(files[path])), text)
            changed.add(path)
            if self.secrets % 3 == 0:
                self.pending_removal.append((path, text))
        elif self.pending_removal and rng.random() < 0.05:
            path, text = self.pending_removal.pop(0)
            if path in files and text in files[path]:
                files[path].remove(text)
                changed.add(path)
        return changed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--commits", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=8)
    a = ap.parse_args()
    os.makedirs(a.dir)
    subprocess.run(["git", "init", "-q", "-b", "main", a.dir], check=True)
    p = subprocess.Popen(["git", "-C", a.dir, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    g = Gen(p.stdin, a.seed)
    rng = g.rng
    files = {}
    for d in DIRS:
        ext = EXTS[d.split("/")[0]]
        for i in range(20):
            files[f"{d}/file{i:02d}{ext}"] = [line(rng) for _ in range(rng.randint(30, 120))]
    head = g.commit("refs/heads/main", files, set(files), set(), [], "initial import")
    made, branch_no, tag_no = 1, 0, 0
    while made < a.commits:
        if rng.random() < 0.02 and made + 25 < a.commits:
            # a feature branch of 5-20 commits, merged back two times in three
            branch_no += 1
            ref = f"refs/heads/feature/{branch_no}"
            bfiles = {k: list(v) for k, v in files.items()}
            tip = head
            for _ in range(rng.randint(5, 20)):
                tip = g.commit(ref, bfiles, g.edit(bfiles, 150), set(), [tip],
                               f"feature {branch_no} work")
                made += 1
            if branch_no % 3:
                changed = set()
                for k, v in bfiles.items():
                    if v != files[k]:
                        files[k] = v
                        changed.add(k)
                head = g.commit("refs/heads/main", files, changed, set(), [head, tip],
                                f"merge feature {branch_no}")
                made += 1
            continue
        changed = g.edit(files, 150)
        deleted = set()
        if rng.random() < 0.01:
            d = rng.choice(DIRS)
            path = f"{d}/new{made}{EXTS[d.split('/')[0]]}"
            files[path] = [line(rng) for _ in range(rng.randint(10, 60))]
            changed.add(path)
        elif rng.random() < 0.003 and len(files) > 100:
            victim = rng.choice(sorted(files))
            del files[victim]
            changed.discard(victim)
            deleted.add(victim)
        head = g.commit("refs/heads/main", files, changed, deleted, [head], f"change {made}")
        made += 1
        if made % 500 == 0:
            tag_no += 1
            g.w(f"tag v{tag_no}\nfrom :{head}\ntagger Rel <rel@example.com> {g.time} +0000\n"
                f"data 7\nrelease\n")
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", a.dir, "reset", "-q", "--hard", "main"], check=True)
    print(json.dumps({"commits": made, "files": len(files), "secrets": g.secrets,
                      "branches": branch_no, "tags": tag_no}))


if __name__ == "__main__":
    main()
