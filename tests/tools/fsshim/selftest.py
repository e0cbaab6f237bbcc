#!/usr/bin/python3
"""Self-test for fsshim.so and powerloss.py.

Builds the shim with the project's warning flags into a temporary directory, runs
/usr/bin/python3 and a small C program under LD_PRELOAD, and checks the journal lines,
the injected errors the program sees, and what powerloss.apply leaves behind.

Run: /usr/bin/python3 tests/tools/fsshim/selftest.py      (or: pytest .../selftest.py)
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import powerloss  # noqa: E402

PY = "/usr/bin/python3"

# A tiny scripted file-system client: argv[1] is a JSON list of [op, args...]; prints a
# JSON list with "ok", a value, or the errno name of each step. Paths are relative to
# FSSHIM_DIR unless they start with '/'.
TARGET = r'''
import errno, json, os, sys
d = os.environ.get("FSSHIM_DIR", ".")
fds, out = {}, []
def P(n): return n if n.startswith("/") else os.path.join(d, n)
def F(n):
    if n not in fds: fds[n] = os.open(P(n), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return fds[n]
for step in json.loads(sys.argv[1]):
    op, a = step[0], step[1:]
    try:
        if op == "create": F(a[0]); r = "ok"
        elif op == "open": fds[a[0]] = os.open(P(a[0]), os.O_RDONLY); r = "ok"
        elif op == "trunc_open":
            fds[a[0]] = os.open(P(a[0]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); r = "ok"
        elif op == "write": r = os.write(F(a[0]), a[1].encode())
        elif op == "pwrite": r = os.pwrite(F(a[0]), a[1].encode(), a[2])
        elif op == "writev": r = os.writev(F(a[0]), [x.encode() for x in a[1:]])
        elif op == "fsync": os.fsync(F(a[0])); r = "ok"
        elif op == "fdatasync": os.fdatasync(F(a[0])); r = "ok"
        elif op == "dirsync":
            fd = os.open(P(a[0]) if a else d, os.O_RDONLY | os.O_DIRECTORY)
            try: os.fsync(fd)
            finally: os.close(fd)
            r = "ok"
        elif op == "rename": os.rename(P(a[0]), P(a[1])); r = "ok"
        elif op == "renameat":
            dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            os.replace(a[0], a[1], src_dir_fd=dfd, dst_dir_fd=dfd); os.close(dfd); r = "ok"
        elif op == "unlink": os.unlink(P(a[0])); r = "ok"
        elif op == "ftruncate": os.ftruncate(F(a[0]), a[1]); r = "ok"
        elif op == "close": os.close(fds.pop(a[0])); r = "ok"
        elif op == "mkdir": os.mkdir(P(a[0])); r = "ok"
        else: raise SystemExit("bad op " + op)
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    out.append(r)
print(json.dumps(out))
'''

# A C client exercising the entry points a C writer uses (open with O_CREAT, openat,
# fortified open, pwrite, writev, fdatasync, renameat, renameat2(RENAME_EXCHANGE), unlinkat,
# ftruncate), compiled with _FORTIFY_SOURCE so the __open_2 family is reached too.
C_TARGET = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
static void chk(const char *what, int r)
{
	printf("%s %s\n", what, r < 0 ? strerror(errno) : "ok");
}
int main(int argc, char **argv)
{
	const char *d = getenv("FSSHIM_DIR");
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	int flags = argc > 5 ? O_RDWR : O_WRONLY; /* not a compile-time constant */
	int fd = openat(dfd, "seg", flags | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct iovec iov[2] = { { "abc", 3 }, { "defg", 4 } };
	int fd2;
	(void)argv;
	chk("openat", fd);
	chk("pwrite", (int)pwrite(fd, "0123456789", 10, 0));
	chk("writev", (int)writev(fd, iov, 2));
	chk("fdatasync", fdatasync(fd));
	chk("fsync-dir", fsync(dfd));
	fd2 = open("/dev/null", flags); /* fortified: non-constant flags -> __open_2 */
	chk("open2", fd2);
	chk("create-tmp", (fd2 = openat(dfd, "tmp", O_WRONLY | O_CREAT | O_EXCL, 0600)));
	chk("write-tmp", (int)write(fd2, "state-2", 7));
	chk("fsync-tmp", fsync(fd2));
	chk("renameat", renameat(dfd, "tmp", dfd, "state"));
	chk("create-x", (fd2 = openat(dfd, "x", O_WRONLY | O_CREAT, 0600)));
	chk("exchange", renameat2(dfd, "x", dfd, "state", RENAME_EXCHANGE));
	chk("unlinkat", unlinkat(dfd, "x", 0));
	chk("ftruncate", ftruncate(fd, 12));
	{
		char path[4096], tmpl[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/via-fopen", d);
		f = fopen(path, "w");
		chk("fopen", f != NULL ? 0 : -1);
		fputs("hello", f);
		chk("fflush", fflush(f));
		chk("fsync-fopen", fsync(fileno(f)));
		fclose(f);
		snprintf(tmpl, sizeof(tmpl), "%s/tmpXXXXXX", d);
		chk("mkstemp", mkstemp(tmpl));
		chk("unlink-mkstemp", unlink(tmpl));
	}
	return 0;
}
'''


class Shim:
    def __init__(self, so, tmp):
        self.so = so
        self.tmp = tmp
        self.n = 0

    def case(self):
        """A fresh (dir, journal, shadow dir) triple."""
        self.n += 1
        base = os.path.join(self.tmp, f"case{self.n}")
        d, sh = os.path.join(base, "d"), os.path.join(base, "shadow")
        os.makedirs(d)
        os.makedirs(sh)
        return d, os.path.join(base, "journal"), sh

    def run(self, d, journal, steps, fail=None, sticky=False, shadow=None, check=True):
        env = powerloss.shim_env(self.so, d, journal, fail=fail, sticky=sticky, shadow=shadow)
        p = subprocess.run([PY, "-c", TARGET, json.dumps(steps)], env=env,
                           capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, p.stderr
            return json.loads(p.stdout)
        return p


def events(journal, d):
    """Journal lines after the baseline, with the directory prefix replaced by '@'."""
    rd = os.path.realpath(d)
    with open(journal) as f:
        lines = f.read().splitlines()
    assert lines[0] == f"fsshim {rd} 1", lines[0]
    i = lines.index(f"ready {rd}")
    return [ln.replace(rd, "@") for ln in lines[1:i]], [ln.replace(rd, "@") for ln in lines[i + 1:]]


def read(p):
    with open(p, "rb") as f:
        return f.read()


def write(p, data):
    with open(p, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- journal


def test_journal_lines(shim):
    d, j, _ = shim.case()
    write(os.path.join(d, "state"), b"v1")
    os.mkdir(os.path.join(d, "sub"))
    write(os.path.join(d, "sub", "old seg"), b"12345")
    out = shim.run(d, j, [
        ["create", "a b"], ["write", "a b", "0123456789"], ["fdatasync", "a b"],
        ["write", "a b", "xyz"], ["dirsync"],
        ["create", "tmp"], ["write", "tmp", "v2"], ["fsync", "tmp"], ["rename", "tmp", "state"],
        ["dirsync"], ["ftruncate", "a b", 4], ["unlink", "sub/old seg"],
        ["write", "/dev/null", "ignored"], ["trunc_open", "state"],
        ["create", "/tmp/fsshim-outside-never-journaled"],
        ["unlink", "/tmp/fsshim-outside-never-journaled"],
    ])
    assert all(r != "EIO" for r in out), out
    base, ev = events(j, d)
    assert sorted(base) == ["base @/state 2", "base @/sub/old%20seg 5"], base
    assert ev == [
        "create @/a%20b", "sync @/a%20b 10", "dirsync @",
        "create @/tmp", "sync @/tmp 2",
        "begin rename @/tmp @/state -", "rename @/tmp @/state", "dirsync @",
        "truncate @/a%20b 4",
        "begin unlink @/sub/old%20seg -", "unlink @/sub/old%20seg",
        "truncate @/state 0",
    ], ev


def test_journal_c_program(shim):
    d, j, _ = shim.case()
    exe = os.path.join(shim.tmp, "ctarget")
    if not os.path.exists(exe):
        src = exe + ".c"
        write(src, C_TARGET.encode())
        subprocess.run(["gcc", "-O2", "-D_FORTIFY_SOURCE=2", "-Wall", "-o", exe, src], check=True)
    env = powerloss.shim_env(shim.so, d, j)
    p = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert all(ln.endswith(" ok") for ln in p.stdout.splitlines()), p.stdout
    _, ev = events(j, d)
    ev = [re.sub(r"/tmp[A-Za-z0-9]{6}\b", "/tmpX", x) for x in ev]
    assert ev == [
        "create @/seg", "sync @/seg 17", "dirsync @", "create @/tmp", "sync @/tmp 7",
        "begin rename @/tmp @/state -", "rename @/tmp @/state", "create @/x",
        "begin exchange @/x @/state -", "exchange @/x @/state",
        "begin unlink @/x -", "unlink @/x", "truncate @/seg 12",
        "create @/via-fopen", "sync @/via-fopen 5", "create @/tmpX", "begin unlink @/tmpX -",
        "unlink @/tmpX",
    ], ev


def test_journal_threads(shim):
    """Concurrent writers and syncers: every line is whole and every sync is journaled."""
    d, j, _ = shim.case()
    prog = r'''
import os, threading
d = os.environ["FSSHIM_DIR"]
def work(i):
    fd = os.open(f"{d}/t{i}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for k in range(200):
        os.write(fd, b"r" * 100)
        os.fdatasync(fd)
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
'''
    env = powerloss.shim_env(shim.so, d, j)
    subprocess.run([PY, "-c", prog], env=env, check=True, timeout=120)
    _, ev = events(j, d)
    for i in range(8):
        lens = [int(x.split()[2]) for x in ev if x.startswith(f"sync @/t{i} ")]
        assert len(lens) == 200 and lens == sorted(lens) and lens[-1] == 20000, (i, lens[-3:])
    assert len(ev) == 8 * 201


def test_inert_without_dir(shim):
    d, j, _ = shim.case()
    env = powerloss.shim_env(shim.so, d, j)
    del env["FSSHIM_DIR"]
    env["FSSHIM_FAIL"] = "fsync:1:EIO"
    p = subprocess.run([PY, "-c", TARGET, json.dumps([["create", os.path.join(d, "f")],
                                                       ["fsync", os.path.join(d, "f")]])],
                       env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(p.stdout) == ["ok", "ok"] and not os.path.exists(j)


def test_bad_config_fails_loudly(shim):
    d, j, _ = shim.case()
    for fail in ("fsync:0:EIO", "fsync:1:ENOPE", "frobnicate:1:EIO", "fsync:1"):
        p = shim.run(d, j, [], fail=fail, check=False)
        assert p.returncode == 86 and "FSSHIM_FAIL" in p.stderr, (fail, p.returncode, p.stderr)
    p = shim.run(d, os.path.join(d, "journal-inside"), [], check=False)
    assert p.returncode == 86, p.stderr


# ---------------------------------------------------------------- fault injection


def test_fault_fdatasync_nth_and_sticky(shim):
    steps = [["create", "f"]]
    steps += [x for k in range(4) for x in (["write", "f", "ab"], ["fdatasync", "f"])]
    d, j, _ = shim.case()
    out = shim.run(d, j, steps, fail="fdatasync:2:EIO")
    assert out[2::2] == ["ok", "EIO", "ok", "ok"], out
    _, ev = events(j, d)
    # The failed call did not sync: its size is journaled as syncfail, not sync.
    assert [x for x in ev if "sync" in x] == [
        "sync @/f 2", "fault fdatasync 2 EIO @/f", "syncfail @/f 4", "sync @/f 6", "sync @/f 8"], ev
    d, j, _ = shim.case()
    out = shim.run(d, j, steps, fail="fdatasync:2:EIO", sticky=True)
    assert out[2::2] == ["ok", "EIO", "EIO", "EIO"], out


def test_fault_counts_only_paths_under_dir(shim):
    d, j, _ = shim.case()
    outside = os.path.join(shim.tmp, "outside")
    steps = [["create", outside], ["write", outside, "x"], ["create", "f"],
             ["write", "f", "1"], ["write", outside, "x"], ["write", "f", "2"], ["write", "f", "3"]]
    out = shim.run(d, j, steps, fail="write:2:ENOSPC")
    assert out == ["ok", 1, "ok", 1, 1, "ENOSPC", 1], out
    assert read(os.path.join(d, "f")) == b"13"  # the failed write did nothing


def test_fault_other_ops(shim):
    d, j, _ = shim.case()
    out = shim.run(d, j, [["create", "a"], ["pwrite", "a", "xx", 0], ["pwrite", "a", "yy", 2],
                          ["writev", "a", "p", "q"], ["create", "b"], ["rename", "b", "c"],
                          ["renameat", "b", "c"], ["dirsync"], ["dirsync"], ["open", "a"],
                          ["unlink", "a"], ["ftruncate", "b", 0]],
                   fail="pwrite:2:EIO,writev:1:EDQUOT,rename:1:EIO,dirsync:2:EIO,"
                        "open:6:EACCES,unlink:1:EROFS,ftruncate:1:EFBIG")
    # opens under the directory: create a, create b, renameat's dir fd, 2 x dirsync, open a
    assert out == ["ok", 2, "EIO", "EDQUOT", "ok", "EIO", "ok", "ok", "EIO", "EACCES", "EROFS",
                   "EFBIG"], out
    assert sorted(os.listdir(d)) == ["a", "c"] and read(os.path.join(d, "a")) == b"xx"
    _, ev = events(j, d)
    assert "fault rename 1 EIO @/c" in ev and not any(x.startswith("begin rename @/b @/c") and
                                                        ev.count(x) > 1 for x in ev)


# ---------------------------------------------------------------- power loss


def test_powerloss_data_drop(shim):
    d, j, _ = shim.case()
    write(os.path.join(d, "old"), b"OLD")
    shim.run(d, j, [["create", "seg"], ["write", "seg", "A" * 10], ["fdatasync", "seg"],
                    ["write", "seg", "B" * 5], ["dirsync"], ["write", "old", "more"],
                    ["create", "synced-nodir"], ["write", "synced-nodir", "s"],
                    ["fsync", "synced-nodir"], ["create", "lost"], ["write", "lost", "L"],
                    ["create", "n\u00fc %x"], ["write", "n\u00fc %x", "0123"],
                    ["fsync", "n\u00fc %x"], ["write", "n\u00fc %x", "45"]])
    assert "sync @/n%C3%BC%20%25x 4" in events(j, d)[1]
    for dirs, expect in (("lenient", {"seg": b"A" * 10, "old": b"OLD", "synced-nodir": b"s",
                                      "n\u00fc %x": b"0123"}),
                         ("strict", {"seg": b"A" * 10, "old": b"OLD"})):
        work, jj = _copy_case(shim, d, j, f"drop-{dirs}")
        res = powerloss.apply(jj, work, dirs=dirs)
        got = {n: read(os.path.join(work, n)) for n in os.listdir(work)}
        assert got == expect, (dirs, got, res.as_dict())


def _copy_case(shim, d, j, tag):
    work = os.path.join(shim.tmp, tag)
    subprocess.run(["cp", "-a", d, work], check=True)
    jj = work + ".journal"
    write(jj, read(j).replace(os.path.realpath(d).encode(), os.path.realpath(work).encode()))
    return work, jj


def _files(d):
    out = {}
    for dp, _, fns in os.walk(d):
        for fn in fns:
            out[os.path.relpath(os.path.join(dp, fn), d)] = read(os.path.join(dp, fn))
    return out


def test_powerloss_rename_models(shim):
    steps = [["create", "tmp"], ["write", "tmp", "v2"], ["fsync", "tmp"],
             ["rename", "tmp", "state"]]
    for shadow in (True, False):
        d, j, sh = shim.case()
        write(os.path.join(d, "state"), b"v1")
        shim.run(d, j, steps, shadow=sh if shadow else None)
        for dirs, expect in (("lenient", {"state": b"v2"}),
                             ("strict", {"state": b"v1"} if shadow else {"state": b"v2"})):
            work, jj = _copy_case(shim, d, j, f"rn-{shadow}-{dirs}")
            powerloss.apply(jj, work, dirs=dirs)
            assert _files(work) == expect, (shadow, dirs, _files(work))
    # A dirsync after the rename makes it durable in every model.
    d, j, sh = shim.case()
    write(os.path.join(d, "state"), b"v1")
    shim.run(d, j, steps + [["dirsync"]], shadow=sh)
    for dirs in powerloss.DIRS_MODES:
        work, jj = _copy_case(shim, d, j, f"rn-synced-{dirs}")
        powerloss.apply(jj, work, dirs=dirs, seed=3)
        assert _files(work) == {"state": b"v2"}, (dirs, _files(work))
    # Renaming a never-synced file over a name: lenient keeps the (empty) new file.
    d, j, sh = shim.case()
    write(os.path.join(d, "state"), b"v1")
    shim.run(d, j, [["create", "tmp"], ["write", "tmp", "v2"], ["rename", "tmp", "state"]],
             shadow=sh)
    for dirs, expect in (("lenient", {"state": b""}), ("strict", {"state": b"v1"})):
        work, jj = _copy_case(shim, d, j, f"rn-unsynced-{dirs}")
        powerloss.apply(jj, work, dirs=dirs)
        assert _files(work) == expect, (dirs, _files(work))


def test_powerloss_unlink_undone_with_shadow(shim):
    d, j, sh = shim.case()
    write(os.path.join(d, "seg1"), b"data")
    shim.run(d, j, [["unlink", "seg1"]], shadow=sh)
    work, jj = _copy_case(shim, d, j, "ul-strict")
    powerloss.apply(jj, work, dirs="strict")
    assert _files(work) == {"seg1": b"data"}
    work, jj = _copy_case(shim, d, j, "ul-lenient")
    powerloss.apply(jj, work, dirs="lenient")
    assert _files(work) == {}


def test_powerloss_syncfail_loses_pages(shim):
    d, j, _ = shim.case()
    shim.run(d, j, [["create", "f"], ["write", "f", "A" * 10], ["fdatasync", "f"],
                    ["write", "f", "B" * 5], ["fdatasync", "f"], ["write", "f", "C" * 5],
                    ["fdatasync", "f"], ["dirsync"]], fail="fdatasync:2:EIO")
    work, jj = _copy_case(shim, d, j, "sf")
    powerloss.apply(jj, work)
    assert read(os.path.join(work, "f")) == b"A" * 10 + bytes(5) + b"C" * 5


def test_powerloss_torn_deterministic(shim):
    d, j, _ = shim.case()
    steps = [["create", "f"], ["write", "f", "A" * 100], ["fdatasync", "f"], ["dirsync"]]
    steps += [["write", "f", "B" * 1000]]
    shim.run(d, j, steps)
    seen = set()
    for seed in range(12):
        outs = []
        for rep in range(2):
            work, jj = _copy_case(shim, d, j, f"torn-{seed}-{rep}")
            powerloss.apply(jj, work, seed=seed, mode="torn")
            outs.append(read(os.path.join(work, "f")))
        assert outs[0] == outs[1], seed
        data = outs[0]
        assert data[:100] == b"A" * 100 and 100 <= len(data) <= 1100
        seen.add(data)
    assert len(seen) > 6  # different seeds give different tears


def test_powerloss_unjournaled_and_in_flight(shim):
    d, j, _ = shim.case()
    shim.run(d, j, [["create", "a"], ["write", "a", "1"], ["fsync", "a"], ["dirsync"]])
    write(os.path.join(d, "stray"), b"?")  # not made through the shim
    rd = os.path.realpath(d)
    with open(j, "a") as f:  # a rename cut short by the kill, after the rename itself
        f.write(f"begin rename {rd}/a {rd}/b -\n")
    os.rename(os.path.join(d, "a"), os.path.join(d, "b"))
    work, jj = _copy_case(shim, d, j, "inflight-strict")
    res = powerloss.apply(jj, work, dirs="strict")
    assert _files(work) == {"a": b"1"}, (_files(work), res.as_dict())
    work, jj = _copy_case(shim, d, j, "inflight-lenient")
    powerloss.apply(jj, work, dirs="lenient")
    assert _files(work) == {"b": b"1"}, _files(work)


def test_powerloss_cli_and_noop(shim):
    d, j, _ = shim.case()
    shim.run(d, j, [["create", "f"], ["write", "f", "abc"]])
    p = subprocess.run([PY, os.path.join(HERE, "powerloss.py"), "plan", j, d, "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and json.loads(p.stdout)["removed"] == [os.path.realpath(d) + "/f"], p
    assert os.path.exists(os.path.join(d, "f"))  # plan changes nothing
    p = subprocess.run([PY, os.path.join(HERE, "powerloss.py"), "apply", j, d, "--seed", "7",
                        "--mode", "torn", "--dirs", "strict"], capture_output=True, text=True)
    assert p.returncode == 0 and os.listdir(d) == [], p
    p = subprocess.run([PY, os.path.join(HERE, "powerloss.py"), "apply", j + ".missing", d],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no journal" in p.stderr
    empty = os.path.join(shim.tmp, "empty.journal")
    write(empty, b"")
    assert powerloss.apply(empty, d).noop


WRITER = r"""
import os, sys
variant = sys.argv[1]
d = os.environ["FSSHIM_DIR"]
fd = os.open(d + "/log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
if variant != "no-dirsync":
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY); os.fsync(dfd)
i = 0
while True:
    os.write(fd, b"rec%06d\n" % i)
    if i % 3 == 0:
        if variant != "no-sync":
            os.fdatasync(fd)
        sys.stdout.write("ack %d\n" % i); sys.stdout.flush()
    i += 1
"""


def _torture(shim, variant, dirs, iters):
    """Runs the writer, SIGKILLs it at a random moment, applies power loss; returns the
    number of iterations in which an acknowledged record was lost."""
    rng = random.Random(1)
    bad = 0
    for it in range(iters):
        d, j, _ = shim.case()
        env = powerloss.shim_env(shim.so, d, j)
        p = subprocess.Popen([PY, "-c", WRITER, variant], env=env, stdout=subprocess.PIPE)
        acked = -1
        deadline = time.time() + rng.uniform(0.05, 0.3)
        while time.time() < deadline or acked < 0:
            line = p.stdout.readline()
            if not line:
                break
            acked = int(line.split()[1])
        p.send_signal(signal.SIGKILL)
        p.wait()
        rest = p.stdout.read().split()
        acked = max([acked] + [int(x) for x in rest if x.isdigit()])
        p.stdout.close()
        powerloss.apply(j, d, seed=it, mode="drop", dirs=dirs)
        path = os.path.join(d, "log")
        recs = read(path).split(b"\n") if os.path.exists(path) else [b""]
        assert recs[-1] == b"" and recs[:-1] == [b"rec%06d" % k for k in range(len(recs) - 1)]
        if len(recs) - 1 < acked + 1:
            bad += 1
    return bad


def test_sigkill_torture_small(shim):
    """A miniature of R12/R13: acked records survive kill -9 plus power loss."""
    assert _torture(shim, "correct", "strict", 6) == 0


def test_sigkill_torture_catches_bugs(shim):
    """Negative controls: the harness must notice a writer that acks before fdatasync, and
    (strict model only) one that never fsyncs the directory after creating its file."""
    assert _torture(shim, "no-sync", "lenient", 3) == 3
    assert _torture(shim, "no-dirsync", "strict", 3) == 3
    assert _torture(shim, "no-dirsync", "lenient", 3) == 0


# ---------------------------------------------------------------- runner

try:
    import pytest

    @pytest.fixture(scope="module")
    def shim(tmp_path_factory):
        tmp = str(tmp_path_factory.mktemp("fsshim"))
        return Shim(powerloss.build(tmp), tmp)
except ImportError:  # standalone only
    pass


def main():
    with tempfile.TemporaryDirectory(prefix="fsshim-selftest-") as tmp:
        s = Shim(powerloss.build(tmp), tmp)
        tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
        failed = 0
        for name, fn in tests:
            try:
                fn(s)
                print(f"ok   {name}")
            except Exception as e:  # noqa: BLE001 - report every failure, then exit non-zero
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}")
        print(f"{len(tests) - failed}/{len(tests)} passed")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
