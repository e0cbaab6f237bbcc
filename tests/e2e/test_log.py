"""Black-box tests of the tamper-evident log through the real binary: CloudTrail-style tamper
reports (R7-R9), kill -9 torture (R12), power loss with un-fsynced writes dropped (R13),
injected I/O errors (R14), the single-writer lock (R15), the witness (R17), offline proofs and
checkpoints verified by tools that share no code with castellan (R19, R20: openssl pkeyutl,
Go's golang.org/x/mod/sumdb/note + tlog, a Python hashlib/cryptography checker), and the
gateway: every request provable from the log, and no model traffic once the log has failed.
"""
import base64
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

import conftest
from conftest import Gateway, run

SRC = os.environ.get("CST_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(SRC, "tests", "tools")
sys.path.insert(0, os.path.join(TOOLS, "fsshim"))
import powerloss  # noqa: E402

TORTURE = int(os.environ.get("CST_TORTURE_ITERATIONS", "25"))
ORIGIN = "example.com/audit"


def cst(*args, check=False, **kw):
    return run(*args, check=check, **kw)


@pytest.fixture
def logdir(tmp_path):
    """A key and a fresh log: returns (dir of the key, log dir, key path, vkey path)."""
    base = tmp_path / "setup"
    base.mkdir()
    key = str(base / "log.key")
    cst("log", "keygen", "--origin", ORIGIN, "--out", key, check=True)
    log = str(base / "log")
    cst("log", "init", log, "--key", key, check=True)
    return str(base), log, key, key + ".vkey"


def append(log, key, records, *extra, **kw):
    data = "".join(r + "\n" for r in records)
    return cst("log", "append", log, "--key", key, "--batch", str(max(1, len(records))),
               *extra, input=data, **kw)


def verify(log, vkey, *extra):
    return cst("log", "verify", log, "--key", vkey, *extra)


# ---- segment frames, parsed here independently of the C code ------------------------------

HEADER = 32


def frames(path):
    """[(offset, length, index)] of the frames of a segment (a strict parser)."""
    data = open(path, "rb").read()
    out, off = [], HEADER
    while off < len(data):
        assert data[off:off + 3] == b"CRE"
        n, = struct.unpack(">I", data[off + 4:off + 8])
        index, = struct.unpack(">Q", data[off + 8:off + 16])
        out.append((off, 16 + n + 32, index))
        off += 16 + n + 32
    return out


def seg0(log):
    return os.path.join(log, "%020d.seg" % 0)


def splice(path, start, end, insert=b""):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:start] + insert + data[end:])


# ---- CLI basics -------------------------------------------------------------------------

def test_cli_contract(logdir, tmp_path):
    _, log, key, vkey = logdir
    assert cst("log").returncode == 64
    assert cst("log", "frobnicate", log).returncode == 64
    assert cst("log", "verify").returncode == 64
    r = cst("log", "verify", str(tmp_path / "nothing"), "--key", vkey)
    assert r.returncode == 2 and "UNREADABLE" in r.stdout
    r = append(log, key, ['{"a":%d}' % i for i in range(10)])
    assert r.returncode == 0 and r.stdout.split() == [str(i) for i in range(10)]
    r = verify(log, vkey)
    assert r.returncode == 0 and "INTACT: 10 records" in r.stdout
    assert "truncation of the newest records" in r.stdout   # no trusted checkpoint given
    shown = cst("log", "show", log, "--from", "3", "--to", "4", check=True).stdout.split("\n")
    assert shown[:2] == ['{"index":3,"record":{"a":3}}', '{"index":4,"record":{"a":4}}']
    # a key file is never overwritten
    r = cst("log", "keygen", "--origin", ORIGIN, "--out", key)
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr


def test_single_writer(logdir):
    """R15: a second writer on the same log fails fast with a message naming the holder."""
    _, log, key, _ = logdir
    first = subprocess.Popen([conftest.CASTELLAN, "log", "append", log, "--key", key],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        first.stdin.write('{"x":1}\n')
        first.stdin.flush()
        assert first.stdout.readline().strip() == "0"   # the first writer holds the lock
        t = time.time()
        r = append(log, key, ['{"y":1}'])
        assert r.returncode == 1 and "in use by another writer (pid %d)" % first.pid in r.stderr
        assert time.time() - t < 5
    finally:
        first.stdin.close()
        first.wait(timeout=30)
    assert append(log, key, ['{"y":1}']).returncode == 0


# ---- R7: structural tampering, each reported with its index range ------------------------

def tamper_delete_one(log, fr):
    splice(seg0(log), fr[5][0], fr[5][0] + fr[5][1])


def tamper_delete_run(log, fr):
    splice(seg0(log), fr[3][0], fr[7][0] + fr[7][1])


def tamper_swap(log, fr):
    data = open(seg0(log), "rb").read()
    a, b = fr[4], fr[5]
    fa, fb = data[a[0]:a[0] + a[1]], data[b[0]:b[0] + b[1]]
    splice(seg0(log), a[0], b[0] + b[1], fb + fa)


def tamper_duplicate(log, fr):
    data = open(seg0(log), "rb").read()
    f = fr[6]
    splice(seg0(log), f[0] + f[1], f[0] + f[1], data[f[0]:f[0] + f[1]])


def tamper_insert(log, fr):
    payload = b'{"forged":true}'
    h = __import__("hashlib").sha256(b"\x00" + payload).digest()
    frame = b"CRE\x00" + struct.pack(">IQ", len(payload), 8) + payload + h
    splice(seg0(log), fr[8][0], fr[8][0], frame)


def tamper_garbage(log, fr):
    with open(seg0(log), "ab") as f:
        f.write(os.urandom(100))


@pytest.mark.parametrize("tamper,expect", [
    (tamper_delete_one, ["records 5..5: missing"]),
    (tamper_delete_run, ["records 3..7: missing"]),
    (tamper_swap, ["record 4 again after record 5"]),
    (tamper_duplicate, ["record 6 again after record 6"]),
    (tamper_insert, ["record 8 (leaf 8): differs from the tree hash", "root differs"]),
    (tamper_garbage, ["not intact records", "run to the end of the segment"]),
])
def test_structural_tamper(logdir, tamper, expect):
    _, log, key, vkey = logdir
    assert append(log, key, ['{"n":%d}' % i for i in range(20)]).returncode == 0
    tamper(log, frames(seg0(log)))
    r = verify(log, vkey)
    assert r.returncode == 1, r.stdout
    assert "TAMPERING FOUND" in r.stdout
    for e in expect:
        assert e in r.stdout, (e, r.stdout)


def test_deleted_segments(logdir):
    """Deleting consecutive segments (CloudTrail #7054) is reported as the missing range."""
    _, log, key, vkey = logdir
    assert append(log, key, ['{"n":%05d}' % i for i in range(300)],
                  "--segment-bytes", "2048").returncode == 0
    segs = sorted(f for f in os.listdir(log) if f.endswith(".seg"))
    assert len(segs) > 6
    lo, hi = int(segs[2][:20]), int(segs[4][:20]) - 1
    os.unlink(os.path.join(log, segs[2]))
    os.unlink(os.path.join(log, segs[3]))
    r = verify(log, vkey)
    assert r.returncode == 1
    assert "records %d..%d: missing" % (lo, hi) in r.stdout or \
        "named as starting at record %d where %d was expected" % (hi + 1, lo) in r.stdout
    # and the writer refuses to go on appending to a log with a hole
    r = append(log, key, ['{"late":1}'], "--segment-bytes", "2048")
    assert r.returncode == 1 and "does not end with record" in r.stderr


# ---- R8, R9: truncation and rewrite against an externally held checkpoint ----------------

def test_truncation_needs_trusted_checkpoint(logdir, tmp_path):
    _, log, key, vkey = logdir
    assert append(log, key, ['{"n":%d}' % i for i in range(50)]).returncode == 0
    trusted = str(tmp_path / "held-elsewhere")
    shutil.copy(os.path.join(log, "checkpoint"), trusted)
    # The attacker cuts the newest records and removes every checkpoint that covered them.
    fr = frames(seg0(log))
    os.truncate(seg0(log), fr[40][0])
    for f in ("checkpoints", "checkpoint", "hashes"):
        os.unlink(os.path.join(log, f))
    r = verify(log, vkey)
    assert "cannot be excluded" in r.stdout      # without outside state, say so
    r = verify(log, vkey, "--trusted-checkpoint", trusted)
    assert r.returncode == 1
    assert "covers 50 records but the log holds 40: records 40..49 were removed" in r.stdout


def test_rewrite_resigned_with_log_key(logdir, tmp_path):
    """R9 (journald CVE-2023-31439): history rewritten and every checkpoint re-signed with the
    log's own key is caught by a checkpoint a witness (or anyone) held."""
    base, log, key, vkey = logdir
    assert append(log, key, ['{"n":%d}' % i for i in range(30)]).returncode == 0
    trusted = str(tmp_path / "held")
    shutil.copy(os.path.join(log, "checkpoint"), trusted)
    # A new log with the same key, record 7 changed, then appended to beyond 30.
    forged = str(tmp_path / "forged")
    os.unlink(key + ".head")     # the attacker also has the signer's state
    cst("log", "init", forged, "--key", key, check=True)
    recs = ['{"n":%d}' % i for i in range(40)]
    recs[7] = '{"n":7,"edited":true}'
    assert append(forged, key, recs).returncode == 0
    assert verify(forged, vkey).returncode == 0        # self-consistent and validly signed
    r = verify(forged, vkey, "--trusted-checkpoint", trusted)
    assert r.returncode == 1
    assert "trusted checkpoint %s (size 30): the recomputed root differs" % trusted in r.stdout


def test_signer_refuses_inconsistent_head(logdir):
    """R5: after records it signed are altered, the writer refuses to sign (or append)."""
    _, log, key, vkey = logdir
    assert append(log, key, ['{"n":%d}' % i for i in range(10)]).returncode == 0
    fr = frames(seg0(log))
    os.truncate(seg0(log), fr[8][0])
    r = append(log, key, ['{"n":99}'])
    assert r.returncode == 1
    assert "signed a checkpoint of 10: records were lost or removed" in r.stderr


# ---- R19, R20: proofs and checkpoints checked by independent tools -----------------------

@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory):
    out = tmp_path_factory.mktemp("tlogcheck")
    build = os.path.join(TOOLS, "tlogcheck", "build.sh")
    subprocess.run(["sh", build, str(out)], check=True, capture_output=True, timeout=600)
    return os.path.join(str(out), "tlogcheck")


def test_independent_verifiers(logdir, tmp_path, tlogcheck):
    _, log, key, vkey = logdir
    assert append(log, key, ['{"n":%d}' % i for i in range(37)]).returncode == 0
    note = os.path.join(log, "checkpoint")
    old = str(tmp_path / "old-checkpoint")
    shutil.copy(note, old)
    assert append(log, key, ['{"m":%d}' % i for i in range(20)]).returncode == 0
    py = [sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3",
          os.path.join(TOOLS, "tlogcheck", "tlogcheck.py")]
    for tool in ([tlogcheck], py):
        r = subprocess.run(tool + ["note", vkey, note], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.split()[:2] == [ORIGIN, "57"], r.stderr
        for index in (0, 13, 36, 56):
            proof, leaf = str(tmp_path / ("p%d" % index)), str(tmp_path / ("l%d" % index))
            open(proof, "w").write(cst("log", "prove", log, "--index", str(index),
                                       check=True).stdout)
            open(leaf, "wb").write(cst("log", "show", log, "--from", str(index), "--to",
                                       str(index), "--raw", check=True).stdout.encode())
            r = subprocess.run(tool + ["inclusion", vkey, proof, leaf], capture_output=True,
                               text=True)
            assert r.returncode == 0, (tool, index, r.stderr)
            open(leaf, "ab").write(b" ")
            r = subprocess.run(tool + ["inclusion", vkey, proof, leaf], capture_output=True)
            assert r.returncode == 1
        body = str(tmp_path / "body")
        open(body, "w").write(cst("log", "prove", log, "--consistency", "37", check=True).stdout)
        r = subprocess.run(tool + ["consistency", vkey, old, "-", body], capture_output=True,
                           text=True)
        assert r.returncode == 0, (tool, r.stderr)
    # The log signature over the checkpoint text with openssl alone.
    text, sigs = open(note, "rb").read().split(b"\n\n", 1)
    sig = base64.b64decode(sigs.split(b"\n")[0].split(b" ")[-1])[4:]
    raw_pub = base64.b64decode(open(vkey).read().strip().split("+", 2)[2])[1:]
    der = bytes.fromhex("302a300506032b6570032100") + raw_pub
    pem = str(tmp_path / "pub.pem")
    open(pem, "w").write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n"
                         % base64.b64encode(der).decode())
    open(str(tmp_path / "msg"), "wb").write(text + b"\n")
    open(str(tmp_path / "sig"), "wb").write(sig)
    ossl = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin",
            "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")]
    assert subprocess.run(ossl, capture_output=True).returncode == 0
    open(str(tmp_path / "msg"), "wb").write(text.replace(b"57", b"58") + b"\n")
    assert subprocess.run(ossl, capture_output=True).returncode != 0
    # castellan's own offline check of a proof file
    proof = str(tmp_path / "p13")
    r = cst("log", "verify-proof", proof, "--leaf", str(tmp_path / "l13"), "--key", vkey)
    assert r.returncode == 1     # the leaf file was altered above
    open(str(tmp_path / "l13"), "wb").write(b'{"n":13}')
    assert cst("log", "verify-proof", proof, "--leaf", str(tmp_path / "l13"),
               "--key", vkey).returncode == 0


# ---- R17: a second castellan as witness --------------------------------------------------

def test_witness(logdir, tmp_path):
    _, log, key, vkey = logdir
    wkey, state = str(tmp_path / "w.key"), str(tmp_path / "w.state")
    cst("log", "keygen", "--origin", "witness.example/w1", "--out", wkey, "--witness", check=True)
    assert append(log, key, ['{"n":%d}' % i for i in range(10)]).returncode == 0
    body = cst("log", "prove", log, "--consistency", "10", check=True).stdout
    first = "old 0\n\n" + body.split("\n\n", 1)[1]
    bodyf = str(tmp_path / "body")
    open(bodyf, "w").write(first)
    r = cst("log", "witness", "--key", wkey, "--log-key", vkey, "--state", state, bodyf)
    assert r.returncode == 0 and r.stdout.startswith("\u2014 witness.example/w1 ")
    cosigned = str(tmp_path / "cosigned")
    open(cosigned, "w").write(open(os.path.join(log, "checkpoint")).read() + r.stdout)
    ok = verify(log, vkey, "--trusted-checkpoint", cosigned, "--witness-key", wkey + ".vkey",
                "--witnesses", "1")
    assert ok.returncode == 0, ok.stdout
    # a changed timestamp in the cosignature fails
    line = base64.b64decode(r.stdout.split()[-1])
    bad = line[:4] + struct.pack(">Q", struct.unpack(">Q", line[4:12])[0] + 1) + line[12:]
    open(cosigned, "w").write(open(os.path.join(log, "checkpoint")).read() + "\u2014 witness.example/w1 "
                              + base64.b64encode(bad).decode() + "\n")
    assert verify(log, vkey, "--trusted-checkpoint", cosigned, "--witness-key", wkey + ".vkey",
                  "--witnesses", "1").returncode == 1
    # replay of the same body: 409 with the witness's size; a grown log with a proof: ok
    r = cst("log", "witness", "--key", wkey, "--log-key", vkey, "--state", state, bodyf)
    assert r.returncode == 1 and "(409): 10" in r.stderr
    assert append(log, key, ['{"m":1}']).returncode == 0
    open(bodyf, "w").write(cst("log", "prove", log, "--consistency", "10", check=True).stdout)
    assert cst("log", "witness", "--key", wkey, "--log-key", vkey, "--state", state,
               bodyf).returncode == 0
    # a forked log (same key, other records) cannot get a cosignature
    os.unlink(key + ".head")
    fork = str(tmp_path / "fork")
    cst("log", "init", fork, "--key", key, check=True)
    assert append(fork, key, ['{"other":%d}' % i for i in range(12)]).returncode == 0
    open(bodyf, "w").write(cst("log", "prove", fork, "--consistency", "11", check=True).stdout)
    r = cst("log", "witness", "--key", wkey, "--log-key", vkey, "--state", state, bodyf)
    assert r.returncode == 1 and "(422)" in r.stderr


# ---- R12: kill -9 torture; R13: power loss; R14: I/O errors ------------------------------

def asan_preload():
    """libasan first when the binary is a sanitizer build (its runtime must come first)."""
    ldd = subprocess.run(["ldd", conftest.CASTELLAN], capture_output=True, text=True).stdout
    if "libasan" not in ldd:
        return ""
    lib = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                         text=True).stdout.strip()
    return lib + ":"


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    return powerloss.build(str(tmp_path_factory.mktemp("fsshim")))


def writer(log, key, env=None, batch=1, size=200):
    """A `log append` fed records of ~size bytes as fast as it takes them."""
    p = subprocess.Popen([conftest.CASTELLAN, "log", "append", log, "--key", key, "--batch",
                          str(batch), "--checkpoint-ms", "20"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return p


def feed_and_kill(p, seed, size=200):
    """Feeds records for a random time, then SIGKILLs; returns the acknowledged indexes.
    stdout is drained by a thread, so a full pipe never stalls the writer."""
    rng = random.Random(seed)
    deadline = time.time() + rng.uniform(0.05, 0.4)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(p.stdout.read()))
    reader.start()
    i = 0
    try:
        while time.time() < deadline:
            rec = ('{"seed":%d,"i":%d,"pad":"%s"}\n' % (seed, i, "x" * rng.randrange(size)))
            p.stdin.write(rec.encode())
            i += 1
            if i % 16 == 0:
                p.stdin.flush()
    except BrokenPipeError:
        pass
    p.send_signal(signal.SIGKILL)
    p.wait()
    reader.join()
    return [int(x) for x in b"".join(chunks).decode().split()]


def check_after_crash(log, key, vkey, acked, start):
    """Recovery (open + close) twice, then every acknowledged record is there, in sequence
    from `start` (the log's size before this round), and the whole log verifies. Returns the
    log's size."""
    for _ in range(2):
        r = append(log, key, [])
        assert r.returncode == 0, r.stderr
    lines = cst("log", "show", log, "--from", str(start), check=True).stdout.split("\n")
    present = {}
    for line in filter(None, lines):
        d = __import__("json").loads(line)
        present[d["index"]] = d.get("record")
    for a in acked:
        assert a in present, "acknowledged record %d lost" % a
    assert sorted(present) == list(range(start, start + len(present)))
    for rec in present.values():
        assert rec.get("type") == "log.recovery" or rec.get("i") is not None
    r = verify(log, vkey)
    assert r.returncode == 0, r.stdout
    return start + len(present)


def test_kill9_torture(logdir):
    """R12: SIGKILL at random points of a busy writer; recovery keeps every acknowledged
    record, is idempotent, and the log verifies. CST_TORTURE_ITERATIONS sets the count
    (CI runs a short loop; bench/log runs 1,000)."""
    _, log, key, vkey = logdir
    total = size = 0
    for it in range(TORTURE):
        p = writer(log, key, batch=random.Random(it).choice([1, 8, 64]))
        acked = feed_and_kill(p, it)
        total += len(acked)
        size = check_after_crash(log, key, vkey, acked, size)
    assert total > 0


@pytest.mark.parametrize("mode,dirs", [("drop", "lenient"), ("torn", "strict")])
def test_power_loss(logdir, shim, tmp_path, mode, dirs):
    """R13: as the torture, but what was not fsynced is dropped (or torn), directory entries
    not fsynced may vanish; acknowledged records must all survive."""
    base, log, key, vkey = logdir
    pre = asan_preload()
    size = 0
    for it in range(max(3, TORTURE // 3)):
        journal = str(tmp_path / ("j%d" % it))
        shadow = tmp_path / ("s%d" % it)
        shadow.mkdir()
        env = powerloss.shim_env(shim, base, journal=journal, shadow=str(shadow))
        env["LD_PRELOAD"] = pre + env["LD_PRELOAD"]
        p = writer(log, key, env=env, batch=random.Random(it).choice([1, 16]))
        acked = feed_and_kill(p, 1000 + it)
        powerloss.apply(journal, base, seed=it, mode=mode, dirs=dirs)
        size = check_after_crash(log, key, vkey, acked, size)


@pytest.mark.parametrize("fail", ["fdatasync:4:EIO", "write:6:ENOSPC", "rename:2:EIO",
                                  "fsync:3:EIO"])
def test_io_errors_fail_stop(logdir, shim, fail):
    """R14: an injected error stops acknowledgements for good, is reported, and a restart
    recovers a verifiable log holding every record acknowledged before it."""
    base, log, key, vkey = logdir
    env = powerloss.shim_env(shim, base, fail=fail)
    env["LD_PRELOAD"] = asan_preload() + env["LD_PRELOAD"]
    recs = ['{"i":%d,"pad":"%s"}' % (i, "y" * 300) for i in range(400)]
    r = subprocess.run([conftest.CASTELLAN, "log", "append", log, "--key", key, "--batch", "1",
                        "--segment-bytes", "16384", "--checkpoint-ms", "5"],
                       input="\n".join(recs) + "\n", capture_output=True, text=True, env=env,
                       timeout=120)
    acked = [int(x) for x in r.stdout.split()]
    assert r.returncode == 1, (r.stdout[-200:], r.stderr)
    assert "nothing more is acknowledged" in r.stderr or "cannot" in r.stderr, r.stderr
    assert len(acked) < len(recs)
    check_after_crash(log, key, vkey, acked, 0)


# ---- the gateway -------------------------------------------------------------------------

def test_gateway_request_provable(make_gateway, tmp_path):
    g = make_gateway()
    key = g.apikey()
    status, h, _, _ = g.chat(key)
    assert status == 200
    rid = h["x-request-id"]
    g.record(rid)
    g.stop()
    log, vkey = os.path.join(g.dir, "log"), os.path.join(g.dir, "log.key.vkey")
    index = next(l["index"] for l in g.log_lines()
                 if l.get("record", {}).get("request_id") == rid)
    proof, leaf = str(tmp_path / "proof"), str(tmp_path / "leaf")
    # X-Request-Id -> log index -> proof, in one command
    p = cst("log", "prove", log, "--request-id", rid, check=True)
    assert p.stdout == cst("log", "prove", log, "--index", str(index), check=True).stdout
    assert "request %s is record %d" % (rid, index) in p.stderr
    assert cst("log", "prove", log, "--request-id", "0" * 32).returncode == 1
    open(proof, "w").write(p.stdout)
    open(leaf, "wb").write(cst("log", "show", log, "--from", str(index), "--to", str(index),
                               "--raw", check=True).stdout.encode())
    r = cst("log", "verify-proof", proof, "--leaf", leaf, "--key", vkey)
    assert r.returncode == 0 and ("record %d of" % index) in r.stdout
    assert verify(log, vkey).returncode == 0


def test_gateway_fails_closed(make_gateway, shim):
    """When the log cannot be written, model traffic stops (503) and status says why."""
    g = make_gateway("records:\n  sync: always\n", start=False)
    # Only the log's files (SQLite syncs state.db too): fdatasync #1-#3 create the log and
    # write the first records; a later one fails, for good.
    os.mkdir(os.path.join(g.dir, "log"), 0o700)
    env = powerloss.shim_env(shim, os.path.join(g.dir, "log"), fail="fdatasync:6:EIO",
                             sticky=True)
    env["LD_PRELOAD"] = asan_preload() + env["LD_PRELOAD"]
    g.start(env=env)
    try:
        key = g.apikey()
        statuses = []
        for _ in range(12):
            statuses.append(g.chat(key)[0])
            time.sleep(0.05)
        assert statuses[0] == 200 and statuses[-1] == 503, statuses
        status, _, body, _ = g.chat(key)
        assert status == 503 and "audit log" in body["error"]["message"]
        st = g.admin("status").stdout
        assert '"ok":false' in st.replace(" ", "") and "fdatasync" in st
    finally:
        g.stop()


def test_key_rotation_continues_the_tree(logdir, tmp_path):
    """R10: a key rotation is recorded in the log under the old key's signature, and the new
    key's checkpoints extend the same tree (a trusted checkpoint from before still verifies)."""
    base, log, key, vkey = logdir
    assert append(log, key, ['{"n":%d}' % i for i in range(7)]).returncode == 0
    held = str(tmp_path / "held")
    shutil.copy(os.path.join(log, "checkpoint"), held)
    new = os.path.join(base, "log2.key")
    cst("log", "keygen", "--origin", ORIGIN, "--out", new, check=True)
    r = cst("log", "rotate-key", log, "--key", key, "--new-key", new)
    assert r.returncode == 0 and r.stdout.startswith("record 7 names the new key"), r.stderr
    assert append(log, new, ['{"m":%d}' % i for i in range(5)]).returncode == 0
    rec = cst("log", "show", log, "--from", "7", "--to", "7", check=True).stdout
    assert '"type":"log.key_rotation"' in rec and open(new + ".vkey").read().strip() in rec
    both = ["--key", vkey, "--key", new + ".vkey"]
    r = cst("log", "verify", log, *both, "--trusted-checkpoint", held)
    assert r.returncode == 0 and "INTACT: 13 records" in r.stdout, r.stdout
    # with the old key only, the new key's checkpoints are not accepted
    assert verify(log, vkey).returncode == 1
    # the old key is retired: it can no longer sign or append to this log
    r = append(log, key, ['{"late":1}'])
    assert r.returncode == 1 and "retired by a key rotation" in r.stderr
    r = cst("log", "rotate-key", log, "--key", key, "--new-key", new)
    assert r.returncode == 1 and "has signed before" in r.stderr
