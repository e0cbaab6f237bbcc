#!/usr/bin/python3
"""Power-loss simulation from an fsshim journal.

After a process that ran under fsshim.so (LD_PRELOAD) was SIGKILLed, `apply()` rewrites its
directory into a state that a power loss at the moment of the kill could have left. Only
what the journal proves durable is guaranteed to survive; everything else is lost (or, in
`torn` mode, partly kept and damaged). Deterministic for a given seed.

Usage:  powerloss.py apply JOURNAL DIR [--seed S] [--mode drop|torn]
                                        [--dirs strict|lenient|random] [--json]
        powerloss.py plan  JOURNAL DIR ...   (same, but only prints what apply would do)

Model (what counts as durable)
------------------------------
Files are tracked as inodes, by following the journal's create/rename/unlink lines, so a
file keeps its history across renames. Files present when the journal was created (`base`
lines) are fully durable at their starting size.

Data, per inode (modes `drop` and `torn`):
  * durable length D = the LEN of the inode's last `sync` line (0 if never synced; the
    starting size for `base` files). `sync` LEN is the size fstat gave just before the
    successful fsync/fdatasync, so it never overstates what was synced.
  * `truncate PATH LEN` sets D = min(D, LEN).
  * drop: the file keeps bytes [0, min(D, size)).
  * torn: the file keeps D bytes plus a random prefix of the unsynced tail; with
    probability 1/2 the last min(512, extra) kept bytes are replaced by zeros or by
    random bytes (a torn or unwritten last block).
  * fsyncgate: `syncfail PATH LEN` (a failed or injected-failed fsync/fdatasync) marks the
    bytes [D_then, LEN) as lost for good: they are zeroed in the output even if a later
    sync succeeded (the kernel may have dropped the dirty pages and marked them clean).
    A later truncate below LEN cuts the lost range. Rewriting those bytes does not
    resurrect them in this model.
  * Assumes files are appended to or written fresh: an in-place overwrite of bytes below
    D is not tracked, and the new bytes are kept.

Names, per directory (option --dirs; a `dirsync DIR` line makes every name operation on
DIR's entries made before it durable; fsync of a file does not make its name durable):
  * strict  (POSIX): the directory's entries are those at its last dirsync (or at the
    start). Creates, renames and unlinks after it are undone: a new file disappears, a
    renamed file is back under its old name, an unlinked file is back. Undoing needs the
    content of the inode that was there: if a rename replaced, or an unlink removed, a
    file whose content is gone (no FSSHIM_SHADOW_DIR link), the directory's state is
    moved forward to the earliest point after its last dirsync where every name's
    content is known ("keep the newer one").
  * lenient (default; what ext4/xfs do in practice): every create, rename and unlink is
    kept, except that a name not present at the directory's last dirsync whose inode was
    never synced is dropped (a file created and written but never fsynced vanishes).
    A name that was renamed over by a never-synced file keeps that file, with D=0:
    the classic zero-length-file-after-rename outcome.
  * random: the directory's state is the one after a random number of its name
    operations since its last dirsync, among the points where every content is known
    (a prefix, as a journalling file system commits metadata in order).
Files on disk that the journal never mentions (created in the instant between open and
the journal line, or through a path the shim cannot see, such as fopen) are treated as
created at the end and never synced. Operations that were in flight at the kill (a
`begin` line with no result line) are settled by looking at the disk (e.g. OLD gone =>
the rename happened) and treated as happening at the end, never covered by a dirsync.
Directories themselves are never created or removed; hard links, symlinks, mmap/msync,
O_SYNC/O_DSYNC writes, sync_file_range, syncfs and O_TMPFILE are not modelled (data
written only that way counts as unsynced).

The journal is normally created by the shim itself (FSSHIM_JOURNAL must not exist when
the first process starts). Use a fresh journal for each run between two `apply` calls;
after `apply`, the directory is the starting state of the next run.
"""

import argparse
import collections
import json
import os
import random
import subprocess
import sys
from urllib.parse import unquote_to_bytes

HERE = os.path.dirname(os.path.abspath(__file__))

MODES = ("drop", "torn")
DIRS_MODES = ("lenient", "strict", "random")
GARBLE_MAX = 512

# Journal line kinds and their number of fields after the kind (see README.md).
_FIELDS = {
    "fsshim": 2, "base": 2, "ready": 1, "create": 1, "sync": 2, "syncfail": 2,
    "truncate": 2, "dirsync": 1, "rename": 2, "exchange": 2, "unlink": 1,
    "begin rename": 3, "begin exchange": 3, "begin unlink": 2,
    "failed rename": 2, "failed exchange": 2, "failed unlink": 1, "fault": 4, "error": 1,
}
_NUMERIC = {"fsshim": (1,), "base": (1,), "sync": (1,), "syncfail": (1,), "truncate": (1,),
            "fault": (1,)}


class JournalError(Exception):
    """The journal is malformed, reports a shim error, or does not match the directory."""


def _dec(field):
    return os.fsdecode(unquote_to_bytes(field))


def parse_journal(path):
    """Parses a journal into a list of (kind, *fields) tuples; paths decoded to str,
    numbers to int. A last line without its newline (never expected: each line is one
    write(2)) is ignored. Raises JournalError on a malformed line."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    lines.pop()  # the part after the last newline: empty, or an incomplete line
    events = []
    for no, raw in enumerate(lines, 1):
        parts = raw.split(b" ")
        kind = parts[0].decode("ascii", "replace")
        if kind in ("begin", "failed") and len(parts) > 1:
            kind = kind + " " + parts[1].decode("ascii", "replace")
            parts = [b""] + parts[2:]
        n = _FIELDS.get(kind)
        if n is None or len(parts) - 1 != n:
            raise JournalError(f"{path}:{no}: malformed line {raw!r}")
        fields = [_dec(p) for p in parts[1:]]
        try:
            for i in _NUMERIC.get(kind, ()):
                fields[i] = int(parts[1 + i])
        except ValueError:
            raise JournalError(f"{path}:{no}: bad number in {raw!r}") from None
        if kind == "fault":  # fault OP N ERRNO PATH: OP and ERRNO stay text
            fields[0], fields[2] = parts[1].decode("ascii"), parts[3].decode("ascii")
        events.append((kind, *fields))
    return events


class Inode:
    """One file's history. `where`: path holding its content after the kill (or None);
    `shadow`: FSSHIM_SHADOW_DIR link holding its content after a rename-over/unlink."""

    _next = 0

    def __init__(self, durable=0, synced=False, why="created"):
        Inode._next += 1
        self.id = Inode._next
        self.durable = durable
        self.synced = synced
        self.lost = []
        self.where = None
        self.shadow = None
        self.why = why

    def known(self):
        return self.where is not None or self.shadow is not None

    def source(self):
        return self.where if self.where is not None else self.shadow


class Result:
    """What apply() did: files (path -> bytes kept), removed (paths that are gone),
    reverted (paths whose name state was rolled back), warnings, faults (from the
    journal), noop (True when the journal shows the process never got going)."""

    def __init__(self):
        self.files = {}
        self.removed = []
        self.reverted = []
        self.warnings = []
        self.faults = []
        self.noop = False

    def as_dict(self):
        return {"files": self.files, "removed": self.removed, "reverted": self.reverted,
                "warnings": self.warnings, "faults": self.faults, "noop": self.noop}


def _parent(p):
    return os.path.dirname(p)


class _Replay:
    def __init__(self, root):
        self.root = root
        self.entries = {}          # current name -> Inode, per the journal
        self.start = {}            # name -> Inode at the start (base lines)
        self.ops = collections.defaultdict(list)  # dir -> [[(name, Inode|None), ...], ...]
        self.synced_at = {}        # dir -> number of its ops covered by its last dirsync
        self.begun = collections.OrderedDict()    # (kind, args) -> [shadow, ...]

    def under(self, p):
        return p.startswith(self.root + "/") or (self.root == "/" and p != "/")

    def bind(self, changes):
        by_dir = collections.OrderedDict()
        for name, ino in changes:
            if not self.under(name):
                continue
            by_dir.setdefault(_parent(name), []).append((name, ino))
            if ino is None:
                self.entries.pop(name, None)
            else:
                self.entries[name] = ino
        for d, ch in by_dir.items():
            self.ops[d].append(ch)

    def get_or_implicit(self, p):
        ino = self.entries.get(p)
        if ino is None and self.under(p):
            ino = Inode(why="unjournaled")
            self.bind([(p, ino)])
        return ino

    def rename(self, old, new, shadow):
        if self.under(old):
            ino = self.entries.get(old) or Inode(why="unjournaled")
        else:
            ino = Inode(why="moved in")
        changes = [(old, None)]
        if self.under(new):
            prev = self.entries.get(new)
            if prev is not None and prev is not ino:
                prev.shadow = shadow
            changes.append((new, ino))
        self.bind(changes)

    def exchange(self, a, b):
        ia, ib = self.entries.get(a), self.entries.get(b)
        self.bind([(a, ib), (b, ia)])

    def unlink(self, p, shadow):
        ino = self.entries.get(p)
        if ino is not None:
            ino.shadow = shadow
        self.bind([(p, None)])

    def event(self, ev, result):
        kind, f = ev[0], ev[1:]
        if kind == "base":
            ino = Inode(durable=f[1], synced=True, why="base")
            self.entries[f[0]] = ino
            self.start[f[0]] = ino
        elif kind == "create":
            self.bind([(f[0], Inode())])
        elif kind == "sync":
            ino = self.get_or_implicit(f[0])
            if ino is not None:
                ino.durable, ino.synced = f[1], True
        elif kind == "syncfail":
            ino = self.entries.get(f[0])
            if ino is not None and f[1] > ino.durable:
                ino.lost.append((ino.durable, f[1]))
        elif kind == "truncate":
            ino = self.entries.get(f[0])
            if ino is not None:
                ino.durable = min(ino.durable, f[1])
                ino.lost = [(a, min(b, f[1])) for a, b in ino.lost if a < f[1]]
        elif kind == "dirsync":
            self.synced_at[f[0]] = len(self.ops[f[0]])
        elif kind.startswith("begin "):
            op = kind[6:]
            args = tuple(f[:-1])
            shadow = None if f[-1] == "-" else f[-1]
            self.begun.setdefault((op, args), []).append(shadow)
        elif kind in ("rename", "exchange", "unlink", "failed rename", "failed exchange",
                      "failed unlink"):
            op = kind.split(" ")[-1]
            pend = self.begun.get((op, tuple(f)))
            shadow = pend.pop(0) if pend else None
            if pend == []:
                del self.begun[(op, tuple(f))]
            if kind == "rename":
                self.rename(f[0], f[1], shadow)
            elif kind == "exchange":
                self.exchange(f[0], f[1])
            elif kind == "unlink":
                self.unlink(f[0], shadow)
        elif kind == "fault":
            result.faults.append({"op": f[0], "call": f[1], "errno": f[2], "path": f[3]})
        elif kind == "error":
            raise JournalError(f"shim reported an error: {f[0]}")

    def settle_in_flight(self, result):
        """Operations begun but not finished at the kill: decide from the disk."""
        for (op, args), shadows in list(self.begun.items()):
            for shadow in shadows:
                if op == "rename" and not os.path.lexists(args[0]) and os.path.lexists(args[1]):
                    self.rename(args[0], args[1], shadow)
                    result.warnings.append(f"in-flight rename {args[0]} -> {args[1]} took effect")
                elif op == "unlink" and not os.path.lexists(args[0]):
                    self.unlink(args[0], shadow)
                    result.warnings.append(f"in-flight unlink {args[0]} took effect")
                elif op == "exchange":
                    result.warnings.append(f"in-flight exchange {args} assumed not done")
        self.begun.clear()

    def reconcile_disk(self, result):
        """Locates each inode's content on disk; files the journal never saw are treated
        as created at the end and never synced."""
        on_disk = set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for fn in sorted(filenames):
                p = os.path.join(dirpath, fn)
                if os.path.isfile(p) and not os.path.islink(p):
                    on_disk.add(p)
        for p in sorted(on_disk - set(self.entries)):
            result.warnings.append(f"file not in journal, treated as never synced: {p}")
            self.bind([(p, Inode(why="unjournaled"))])
        for p, ino in self.entries.items():
            if p in on_disk:
                ino.where = p
            else:
                result.warnings.append(f"journal names {p}, which is not on disk")
        seen = set()
        for ops in self.ops.values():
            for ch in ops:
                for _, ino in ch:
                    if ino is not None and ino.id not in seen:
                        seen.add(ino.id)
                        if ino.shadow is not None and not os.path.isfile(ino.shadow):
                            result.warnings.append(f"shadow {ino.shadow} missing")
                            ino.shadow = None
        for ino in self.start.values():
            if ino.shadow is not None and not os.path.isfile(ino.shadow):
                ino.shadow = None

    def dirs(self):
        ds = set(self.ops) | {_parent(p) for p in self.start} | set(self.synced_at)
        return sorted(d for d in ds if d == self.root or self.under(d))

    def durable_names(self, dirs_mode, seed, result):
        """name -> Inode after the power loss, per the --dirs model."""
        out = {}
        for d in self.dirs():
            ns = {p: i for p, i in self.start.items() if _parent(p) == d}
            ops = self.ops.get(d, [])
            k0 = min(self.synced_at.get(d, 0), len(ops))
            for ch in ops[:k0]:
                _apply(ns, ch)
            at_sync = dict(ns)
            states = [(k0, dict(ns))]
            for k in range(k0, len(ops)):
                _apply(ns, ops[k])
                states.append((k + 1, dict(ns)))
            valid = [(k, s) for k, s in states if all(i.known() for i in s.values())]
            if dirs_mode == "lenient":
                chosen = dict(states[-1][1])
                for p, ino in list(chosen.items()):
                    if at_sync.get(p) is not ino and not ino.synced and p not in at_sync:
                        del chosen[p]
            elif not valid:
                chosen = dict(states[-1][1])
            elif dirs_mode == "strict":
                chosen = valid[0][1]
            else:
                rng = random.Random(f"{seed}:dirs:{os.path.relpath(d, self.root)}")
                chosen = rng.choice(valid)[1]
            for p, ino in sorted(chosen.items()):
                if not ino.known():
                    result.warnings.append(f"content of {p} unknown; left out")
                    continue
                out[p] = ino
            end = states[-1][1]
            for p in sorted(set(end) | set(chosen)):
                if p in chosen and p in end and chosen[p] is not end[p]:
                    result.reverted.append(p)
                elif (p in chosen) != (p in end):
                    result.reverted.append(p)
        return out


def _apply(ns, changes):
    for name, ino in changes:
        if ino is None:
            ns.pop(name, None)
        else:
            ns[name] = ino


def _content(ino, rel, mode, seed):
    """The bytes a power loss leaves for ino, seen under name rel (relative to the
    directory, so results do not depend on where the directory is)."""
    src = ino.source()
    with open(src, "rb") as f:
        data = bytearray(f.read())
    keep = min(len(data), ino.durable)
    if mode == "torn" and len(data) > keep:
        rng = random.Random(f"{seed}:torn:{rel}")
        extra = rng.randint(0, len(data) - keep)
        if extra > 0 and rng.random() < 0.5:
            g = min(GARBLE_MAX, extra)
            end = keep + extra
            if rng.random() < 0.5:
                data[end - g:end] = bytes(g)
            else:
                data[end - g:end] = bytes(rng.getrandbits(8) for _ in range(g))
        keep += extra
    del data[keep:]
    for a, b in ino.lost:
        b = min(b, keep)
        if a < b:
            data[a:b] = bytes(b - a)
    return bytes(data)


def plan(journal, directory, seed=0, mode="drop", dirs="lenient", missing_ok=False):
    """Computes what apply() would do, without changing anything. Returns
    (targets: {path: (bytes, st_mode)}, Result)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if dirs not in DIRS_MODES:
        raise ValueError(f"dirs must be one of {DIRS_MODES}")
    result = Result()
    root = os.path.realpath(directory)
    if not os.path.exists(journal):
        if missing_ok:
            result.noop = True
            return None, result
        raise JournalError(f"no journal at {journal}: was fsshim.so preloaded?")
    events = parse_journal(journal)
    if not events or not any(e[0] == "ready" for e in events):
        # Killed before the shim finished recording the starting state: nothing happened.
        result.noop = True
        return None, result
    if events[0][0] != "fsshim" or events[0][2] != 1:
        raise JournalError(f"{journal}: not an fsshim v1 journal (first line {events[0]})")
    if os.path.realpath(events[0][1]) != root:
        raise JournalError(f"journal is for {events[0][1]}, not {root}")
    rp = _Replay(root)
    for ev in events[1:]:
        rp.event(ev, result)
    rp.settle_in_flight(result)
    rp.reconcile_disk(result)
    names = rp.durable_names(dirs, seed, result)
    targets = {}
    for p, ino in sorted(names.items()):
        src = ino.source()
        data = _content(ino, os.path.relpath(p, root), mode, seed)
        targets[p] = (data, os.stat(src).st_mode & 0o7777)
    return targets, result


def apply(journal, directory, seed=0, mode="drop", dirs="lenient", missing_ok=False,
          dry_run=False):
    """Rewrites `directory` into a state a power loss at the kill could have left (see
    the module docstring). Returns a Result. Raises JournalError (malformed journal,
    wrong directory, shim error line) and FileNotFoundError-like JournalError when the
    journal is missing unless missing_ok. Regular files under the directory are
    replaced; directories and non-regular files are left alone; shadow links are left."""
    targets, result = plan(journal, directory, seed, mode, dirs, missing_ok)
    if targets is None:
        return result
    root = os.path.realpath(directory)
    existing = []
    for dirpath, _, filenames in os.walk(root):
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            if os.path.isfile(p) and not os.path.islink(p):
                existing.append(p)
    result.removed = sorted(set(existing) - set(targets))
    result.files = {p: len(data) for p, (data, _) in targets.items()}
    if dry_run:
        return result
    for p in existing:
        os.unlink(p)
    for p, (data, perm) in targets.items():
        os.makedirs(os.path.dirname(p), exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, perm)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    return result


def build(outdir):
    """Builds fsshim.so into outdir with build.sh; returns its path."""
    subprocess.run(["sh", os.path.join(HERE, "build.sh"), outdir], check=True)
    return os.path.join(outdir, "fsshim.so")


def shim_env(so, directory, journal=None, fail=None, sticky=False, shadow=None, base=None):
    """Environment for running a process under the shim: a copy of base (default
    os.environ) with LD_PRELOAD and the FSSHIM_* variables set (others removed)."""
    env = dict(os.environ if base is None else base)
    for k in [k for k in env if k.startswith("FSSHIM_")]:
        del env[k]
    env["LD_PRELOAD"] = os.path.abspath(so)
    env["FSSHIM_DIR"] = os.path.abspath(directory)
    if journal:
        env["FSSHIM_JOURNAL"] = os.path.abspath(journal)
    if fail:
        env["FSSHIM_FAIL"] = fail if isinstance(fail, str) else ",".join(fail)
    if sticky:
        env["FSSHIM_FAIL_STICKY"] = "1"
    if shadow:
        env["FSSHIM_SHADOW_DIR"] = os.path.abspath(shadow)
    return env


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("apply", "plan"))
    ap.add_argument("journal")
    ap.add_argument("dir")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--mode", choices=MODES, default="drop")
    ap.add_argument("--dirs", choices=DIRS_MODES, default="lenient")
    ap.add_argument("--missing-ok", action="store_true",
                    help="a missing journal means nothing happened (no change)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args(argv)
    try:
        res = apply(a.journal, a.dir, seed=a.seed, mode=a.mode, dirs=a.dirs,
                    missing_ok=a.missing_ok, dry_run=a.command == "plan")
    except JournalError as e:
        print(f"powerloss: {e}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(res.as_dict(), indent=1, sort_keys=True))
    else:
        for p, n in sorted(res.files.items()):
            print(f"keep {n} {p}")
        for p in res.removed:
            print(f"remove {p}")
        for w in res.warnings:
            print(f"warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
