#!/usr/bin/python3
"""selftest.py GO_TLOGCHECK: proves that both independent verifiers (the Go
binary built by build.sh and tlogcheck.py) accept good logs and reject
tampered ones, before the suite trusts them to judge the C log.

It builds its own RFC 6962 trees and proofs straight from the RFC 6962
definitions of MTH, PATH and SUBPROOF (not from either verifier), signs
checkpoints with fresh Ed25519 keys, and also replays fixed third-party data:
the C2SP / x/mod signed-note examples and the audit-log checkpoint of
tamper_evident_log.md sections 2.4-2.5, the Tessera test log, and the
transparency-dev/merkle inclusion and consistency vectors. Every case runs
through both tools, which must agree on the exit status and print the same
line. Exit 0 only if every case passed; a missing data set is a failure.

Environment: TLOGCHECK_DATA overrides the vector root (default
/work/shared/data/merkle, found relative to this file).
"""
import base64
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
import tlogcheck as pyv  # noqa: E402  (in-process runs of the Python tool)

DATA = os.environ.get("TLOGCHECK_DATA",
                      os.path.normpath(os.path.join(HERE, "../../../../shared/data/merkle")))
EM = "\u2014 "
H = lambda b: hashlib.sha256(b).digest()  # noqa: E731
b64e = lambda b: base64.b64encode(b).decode()  # noqa: E731


# ---- RFC 6962 generator (section 2.1), independent of both verifiers ------

class Tree:
    def __init__(self, leaves):
        self.leaves, self.memo = list(leaves), {}

    def mth(self, lo, hi):
        if (lo, hi) not in self.memo:
            n = hi - lo
            if n == 0:
                h = H(b"")
            elif n == 1:
                h = H(b"\x00" + self.leaves[lo])
            else:
                k = 1 << ((n - 1).bit_length() - 1)  # largest power of 2 < n
                h = H(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))
            self.memo[(lo, hi)] = h
        return self.memo[(lo, hi)]

    def path(self, m, lo, hi):  # PATH(m, D[lo:hi]), m absolute
        if hi - lo == 1:
            return []
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        if m < lo + k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):  # SUBPROOF(m, D[lo:hi], b), m relative
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def consistency(self, m, n):
        return self.subproof(m, 0, n, True) if 0 < m < n else []


# Shapes: the branch decisions of the PATH / SUBPROOF recursions, which depend
# only on sizes. A proof made for one (index or old size, size) is accepted for
# another iff the shapes are equal (else only by a hash collision): RFC 6962
# roots do not commit to the tree size, so a checkpoint re-signed with the same
# root and a different size is not always caught by a single proof.
def path_shape(m, n):
    if not 0 <= m < n:
        return None
    if n == 1:
        return ()
    k = 1 << ((n - 1).bit_length() - 1)
    return path_shape(m, k) + ("R",) if m < k else path_shape(m - k, n - k) + ("L",)


def subproof_shape(m, n, b=True):
    if not 0 < m <= n:
        return None
    if m == n:
        return ("end", b)
    k = 1 << ((n - 1).bit_length() - 1)
    return subproof_shape(m, k, b) + ("R",) if m <= k else subproof_shape(m - k, n - k, False) + ("L",)


# ---- signed-note construction ----------------------------------------------

class Key:
    """Ed25519 note key; sigtype 0x01 (log) or 0x04 (cosigner)."""

    def __init__(self, name, seed=None, sigtype=1):
        self.sk = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
        pub = self.sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.name, self.tag = name, bytes([sigtype]) + pub
        self.id = H(name.encode() + b"\n" + self.tag)[:4]
        self.vkey = f"{name}+{self.id.hex()}+{b64e(self.tag)}"

    def line(self, text):
        return f"{EM}{self.name} {b64e(self.id + self.sk.sign(text))}\n".encode()

    def cosign(self, text, t, claim=None):
        """Cosignature line for time t; claim puts another time in the line."""
        sig = self.sk.sign(f"cosignature/v1\ntime {t}\n".encode() + text)
        stamp = (t if claim is None else claim).to_bytes(8, "big")
        return f"{EM}{self.name} {b64e(self.id + stamp + sig)}\n".encode()


def body(origin, size, root, ext=()):
    return "".join(f"{x}\n" for x in [origin, size, b64e(root), *ext]).encode()


def signed(key, text, *extra_lines):
    return text + b"\n" + key.line(text) + b"".join(extra_lines)


def proof_file(index, proof, note, extra=None):
    head = ["c2sp.org/tlog-proof@v1"] + ([f"extra {extra}"] if extra else [])
    return "".join(f"{x}\n" for x in head + [f"index {index}"] + [b64e(p) for p in proof]).encode() + b"\n" + note


def pf(hashes):
    """Plain consistency-proof file: one base64 hash per line."""
    return "".join(b64e(h) + "\n" for h in hashes)


def flip(b, i=0, bit=0):
    b = bytearray(b)
    b[i % len(b)] ^= 1 << bit
    return bytes(b)


def flip_sig(note, line_no=0):
    """Flip a bit inside the signature bytes (past the key ID) of a sig line."""
    text, sigs = note.rsplit(b"\n\n", 1)
    lines = sigs.split(b"\n")
    name, enc = lines[line_no].rsplit(b" ", 1)
    lines[line_no] = name + b" " + b64e(flip(base64.b64decode(enc), 20)).encode()
    return text + b"\n\n" + b"\n".join(lines)


# ---- runner -------------------------------------------------------------------

class Lit(str):
    """A command-line argument passed literally (not file content)."""


class Runner:
    def __init__(self, gobin, tmp):
        self.gobin, self.tmp, self.n, self.cases, self.fails, self.skips = gobin, tmp, 0, 0, [], []

    def file(self, data):
        self.n += 1
        path = os.path.join(self.tmp, f"f{self.n}")
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def check(self, label, argv, want, out=None, pycli=False):
        """Run argv through both tools and expect exit code want (and stdout out).
        argv[0], "--text", "-" and Lit(...) are passed as they are; every other
        item is file content, written to a fresh file whose path is passed.
        The Python tool runs in-process unless pycli (then as a subprocess)."""
        self.cases += 1
        argv = [a if isinstance(a, Lit) or a in ("--text", "-") or k == 0 else self.file(a)
                for k, a in enumerate(argv)]
        g = subprocess.run([self.gobin] + argv, capture_output=True)
        if pycli:
            p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "tlogcheck.py")] + argv,
                               capture_output=True)
            pcode, pout, perr = p.returncode, p.stdout.decode(), p.stderr.decode()
        else:
            try:
                pcode, pout, perr = 0, pyv.run(argv), ""
            except pyv.Fail as e:
                pcode, pout, perr = 1, "", f"{e}\n"
            except pyv.Usage as e:
                pcode, pout, perr = 2, "", f"{e}\n"
            except Exception as e:  # a crash is never an acceptable verdict
                pcode, pout, perr = 99, "", f"crash: {e!r}\n"
        gout, gerr = g.stdout.decode(), g.stderr.decode()
        problems = []
        for tool, code, o, e in [("go", g.returncode, gout, gerr), ("py", pcode, pout, perr)]:
            if code != want:
                problems.append(f"{tool} exit {code} want {want}: {e.strip()[:160]}")
            elif want == 1 and (e.count("\n") != 1 or len(e.strip()) == 0):
                problems.append(f"{tool} stderr is not one line: {e!r}")
            elif want == 0 and out is not None and o != out:
                problems.append(f"{tool} printed {o!r} want {out!r}")
        if want == 0 and gout != pout:
            problems.append(f"outputs differ: go {gout!r} py {pout!r}")
        if problems:
            self.fails.append(f"{label}: " + "; ".join(problems))
        return gout


def section_reference(r):
    """tamper_evident_log.md 2.4/2.5 examples, byte-exact."""
    foo_vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    foo_note = (b"This is an example message.\n\n" + EM.encode() + b"example.com/foo "
                b"Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
    r.check("c2sp foo --text", ["note", "--text", foo_vkey, foo_note], 0,
            "This is an example message.\n", pycli=True)
    r.check("c2sp foo is not a checkpoint", ["note", foo_vkey, foo_note], 1)
    r.check("c2sp foo flipped sig", ["note", "--text", foo_vkey, flip_sig(foo_note)], 1)
    r.check("c2sp foo edited text", ["note", "--text", foo_vkey, foo_note.replace(b"an ex", b"an Ex")], 1)

    skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    pn = Key("PeterNeumann", base64.b64decode(skey.split("+", 4)[4])[1:])
    text = b"If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    want_line = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
                 "ngotpRZb6KE6RyyBwJnAM=\n").encode()
    if pn.vkey != "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW" or pn.line(text) != want_line:
        r.fails.append("selftest signer does not reproduce the x/mod PeterNeumann vector")
    r.check("x/mod PeterNeumann --text", ["note", "--text", pn.vkey, text + b"\n" + want_line], 0, text.decode())

    log = Key("example.com/audit-log", H(b"audit-log test key 1"))
    wit = Key("witness.example.com/w1", H(b"audit-log test witness 1"), sigtype=4)
    doc = ("example.com/audit-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
           "\u2014 example.com/audit-log qNwiXXFCr42lJ2YcKLGDpIhtpdujyal+lX1v9Y0KhnvTBoOLvkjXvW5rbpiXWy37q7jCM"
           "CbUa7Ft/75jfLHcrOZXEwk=\n\u2014 witness.example.com/w1 KVMLmAAAAABpVbkAZnmsYuPa8D32G0/qZDYIsV6eUJKY6"
           "TifFy1ElMMezgiW5zfBK/0oo1aIThKih6lN2f0tMaTvXlbm9FNOgRUaCA==\n").encode()
    rfc = Tree(bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243",
                                           "5051525354555657", "606162636465666768696a6b6c6d6e6f"])
    cp = body("example.com/audit-log", 8, rfc.mth(0, 8))
    if (len(doc) != 321 or signed(log, cp, wit.cosign(cp, 1767225600)) != doc
            or log.vkey != "example.com/audit-log+a8dc225d+AejH4+wu5YwLqaq9rDna4gU6LRF3T8IuUj6Yxk63nmqb"
            or wit.vkey != "witness.example.com/w1+29530b98+BINalgz7bnHCM2+IYV1yBjZRyXXcVQ3Pku+HYdvmxbAL"):
        r.fails.append("selftest signer does not reproduce the section 2.5 audit-log note")
    root_hex = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    r.check("2.5 note", ["note", log.vkey + "\n", doc], 0, f"example.com/audit-log 8 {root_hex}\n", pycli=True)
    r.check("2.5 cosig", ["cosig", wit.vkey + "\n", doc], 0, "1767225600\n", pycli=True)
    r.check("2.5 note, witness vkey", ["note", wit.vkey, doc], 2, pycli=True)
    r.check("2.5 cosig, log vkey", ["cosig", log.vkey, doc], 2, pycli=True)
    r.check("2.5 note, log sig flipped", ["note", log.vkey, flip_sig(doc, 0)], 1, pycli=True)
    r.check("2.5 note ignores bad witness line", ["note", log.vkey, flip_sig(doc, 1)], 0)
    r.check("2.5 cosig flipped", ["cosig", wit.vkey, flip_sig(doc, 1)], 1, pycli=True)
    r.check("2.5 cosig other time", ["cosig", wit.vkey, signed(log, cp, wit.cosign(cp, 1767225600, 1767225601))], 1)
    edited = doc.replace(b"\n8\n", b"\n9\n")
    r.check("2.5 cosig edited body", ["cosig", wit.vkey, edited], 1)
    r.check("2.5 note edited body", ["note", log.vkey, edited], 1)
    for i in range(8):
        r.check(f"2.5 inclusion {i}", ["inclusion", log.vkey, proof_file(i, rfc.path(i, 0, 8), doc),
                                       rfc.leaves[i]], 0, f"example.com/audit-log 8 {root_hex} {i}\n")


def section_tessera(r):
    """Tessera test log: 16 third-party signed checkpoints over 15 entries."""
    base = os.path.join(DATA, "tessera-testlog")
    vkey = open(os.path.join(base, "log.vkey")).read()
    bundle, entries = open(os.path.join(base, "log/tile/entries/000.p/15"), "rb").read(), []
    while bundle:
        n = int.from_bytes(bundle[:2], "big")
        entries.append(bundle[2:2 + n])
        bundle = bundle[2 + n:]
    t = Tree(entries)
    tile = open(os.path.join(base, "log/tile/0/000.p/15"), "rb").read()
    if len(entries) != 15 or tile != b"".join(t.mth(i, i + 1) for i in range(15)):
        r.fails.append("tessera: entry bundle does not match level-0 tile")
    notes = [open(os.path.join(base, f"log/checkpoint.{n}"), "rb").read() for n in range(16)]
    origin = "example.com/log/testdata"
    for n in range(16):
        r.check(f"tessera checkpoint.{n}", ["note", vkey, notes[n]], 0,
                f"{origin} {n} {t.mth(0, n).hex()}\n", pycli=(n == 15))
        for i in range(n):
            r.check(f"tessera incl {i}/{n}", ["inclusion", vkey, proof_file(i, t.path(i, 0, n), notes[n]),
                                              entries[i]], 0)
        for m in range(n + 1):
            p = pf(t.consistency(m, n))
            r.check(f"tessera cons {m}->{n}", ["consistency", vkey, notes[m], notes[n], p], 0,
                    f"{origin} {m} {n} {t.mth(0, n).hex()}\n")
            if m < n:
                r.check(f"tessera cons {n}->{m} swapped", ["consistency", vkey, notes[n], notes[m], p], 1)
    r.check("tessera current", ["note", vkey, open(os.path.join(base, "log/checkpoint"), "rb").read()], 0)


def section_generated(r):
    """Fresh key, trees of 0..40 leaves: every proof accepted, every mutation rejected."""
    key, other = Key("castellan.test/log"), Key("castellan.test/log")  # same name, other key
    wit = Key("castellan.test/witness", sigtype=4)
    origin, N = "castellan.test/log", 40
    t = Tree([b""] + [f"record {i}".encode() * (i % 5) for i in range(1, N)])
    cps = [signed(key, body(origin, n, t.mth(0, n))) for n in range(N + 1)]
    out = lambda n: f"{origin} {n} {t.mth(0, n).hex()}"  # noqa: E731
    resign = lambda n, root, o=origin: signed(key, body(o, n, root))  # noqa: E731

    for n in range(1, N + 1):  # exhaustive good inclusion proofs
        for i in range(n):
            r.check(f"incl {i}/{n}", ["inclusion", key.vkey, proof_file(i, t.path(i, 0, n), cps[n]),
                                      t.leaves[i]], 0, f"{out(n)} {i}\n")
    for n in range(N + 1):  # exhaustive good consistency proofs, both file formats
        for m in range(n + 1):
            lines = pf(t.consistency(m, n))
            r.check(f"cons {m}->{n}", ["consistency", key.vkey, cps[m], cps[n], lines], 0,
                    f"{origin} {m} {n} {t.mth(0, n).hex()}\n")
            if n % 7 == 0 or m == n - 1:
                wb = f"old {m}\n{lines}\n".encode() + cps[n]
                r.check(f"witness body {m}->{n}", ["consistency", key.vkey, cps[m], "-", wb], 0)
                r.check(f"witness body {m}->{n} +NEW", ["consistency", key.vkey, cps[m], cps[n], wb], 0)

    for n in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 40]:  # inclusion mutations
        for i in sorted({0, n // 2, n - 1}):
            pr, leaf, lbl = t.path(i, 0, n), t.leaves[i], f"incl {i}/{n}"
            bad = lambda pf, lf=leaf, vk=key.vkey: ["inclusion", vk, pf, lf]  # noqa: E731
            for j in range(len(pr)):
                mutated = pr[:j] + [flip(pr[j], j, 3)] + pr[j + 1:]
                r.check(f"{lbl} proof[{j}] bit", bad(proof_file(i, mutated, cps[n])), 1)
            if pr:
                r.check(f"{lbl} drop last", bad(proof_file(i, pr[:-1], cps[n])), 1)
                r.check(f"{lbl} drop first", bad(proof_file(i, pr[1:], cps[n])), 1)
            if len(pr) > 1 and pr != pr[::-1]:
                r.check(f"{lbl} reversed", bad(proof_file(i, pr[::-1], cps[n])), 1)
            r.check(f"{lbl} extra hash", bad(proof_file(i, pr + [t.mth(0, 1)], cps[n])), 1)
            r.check(f"{lbl} index+1", bad(proof_file(i + 1, pr, cps[n])), 1)
            if i > 0:
                r.check(f"{lbl} index-1", bad(proof_file(i - 1, pr, cps[n])), 1)
            r.check(f"{lbl} wrong leaf", bad(proof_file(i, pr, cps[n]), leaf + b"x"), 1)
            for n2 in [n - 1, n + 1]:
                want = 0 if path_shape(i, n2) == path_shape(i, n) else 1
                r.check(f"{lbl} size {n2} signed", bad(proof_file(i, pr, resign(n2, t.mth(0, n)))), want)
            r.check(f"{lbl} root bit signed", bad(proof_file(i, pr, resign(n, flip(t.mth(0, n))))), 1)
            r.check(f"{lbl} root edited", bad(proof_file(i, pr, cps[n].replace(b64e(t.mth(0, n)).encode(),
                                                                                 b64e(flip(t.mth(0, n))).encode()))), 1)
            r.check(f"{lbl} sig bit", bad(proof_file(i, pr, flip_sig(cps[n]))), 1)
            r.check(f"{lbl} other key", bad(proof_file(i, pr, cps[n]), vk=other.vkey), 1)
            r.check(f"{lbl} other key's note", bad(proof_file(i, pr, signed(other, body(origin, n, t.mth(0, n))))), 1)
            r.check(f"{lbl} extra line ok", bad(proof_file(i, pr, cps[n], extra="b3BhcXVl")), 0)
            r.check(f"{lbl} bad extra", bad(proof_file(i, pr, cps[n], extra="!!")), 1)

    for m, n in [(1, 2), (1, 8), (2, 5), (3, 7), (4, 8), (6, 8), (6, 7), (7, 40), (8, 9),
                 (16, 33), (17, 32), (31, 40), (32, 40), (39, 40)]:  # consistency mutations
        pr, lbl = t.consistency(m, n), f"cons {m}->{n}"
        bad = lambda o, nw, p, vk=key.vkey: ["consistency", vk, o, nw, pf(p)]  # noqa: E731
        for j in range(len(pr)):
            r.check(f"{lbl} proof[{j}] bit", bad(cps[m], cps[n], pr[:j] + [flip(pr[j], 5, j % 8)] + pr[j + 1:]), 1)
        r.check(f"{lbl} truncated", bad(cps[m], cps[n], pr[:-1]), 1)
        r.check(f"{lbl} extended", bad(cps[m], cps[n], pr + [t.mth(0, 1)]), 1)
        r.check(f"{lbl} empty proof", bad(cps[m], cps[n], []), 1)
        r.check(f"{lbl} swapped notes", bad(cps[n], cps[m], pr), 1)
        r.check(f"{lbl} old root signed wrong", bad(resign(m, flip(t.mth(0, m))), cps[n], pr), 1)
        r.check(f"{lbl} new root signed wrong", bad(cps[m], resign(n, flip(t.mth(0, n))), pr), 1)
        for m2, n2 in [(m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1)]:
            want = 0 if m2 < n2 and subproof_shape(m2, n2) == subproof_shape(m, n) else 1
            r.check(f"{lbl} signed as {m2}->{n2}", bad(resign(m2, t.mth(0, m)) if m2 else cps[0],
                                                       resign(n2, t.mth(0, n)), pr), want)
        r.check(f"{lbl} other origin", bad(cps[m], resign(n, t.mth(0, n), "castellan.test/other"), pr), 1)
        r.check(f"{lbl} sig bit", bad(cps[m], flip_sig(cps[n]), pr), 1)
        r.check(f"{lbl} other key", bad(cps[m], cps[n], pr, vk=other.vkey), 1)
        r.check(f"{lbl} witness old N wrong", ["consistency", key.vkey, cps[m], "-",
                                               f"old {m + 1}\n{pf(pr)}\n".encode() + cps[n]], 1)
        r.check(f"{lbl} witness NEW differs", ["consistency", key.vkey, cps[m], cps[n - 1],
                                               f"old {m}\n{pf(pr)}\n".encode() + cps[n]], 1)
    r.check("cons 5->5 nonempty proof", ["consistency", key.vkey, cps[5], cps[5], pf([t.mth(0, 5)])], 1)
    r.check("cons 0->9 nonempty proof", ["consistency", key.vkey, cps[0], cps[9], pf([t.mth(0, 9)])], 1)
    r.check("cons 5->5 other root", ["consistency", key.vkey, cps[5], resign(5, t.mth(0, 6)), ""], 1)

    # cosignatures and extension lines
    ext = body(origin, 9, t.mth(0, 9), ["ext line one"])
    cos = signed(key, ext, wit.cosign(ext, 1700000000))
    r.check("cosig ok", ["cosig", wit.vkey, cos], 0, "1700000000\n", pycli=True)
    r.check("note with extension", ["note", key.vkey, cos], 0, f"{out(9)}\n")
    r.check("cosig max time", ["cosig", wit.vkey, signed(key, ext, wit.cosign(ext, 2**63 - 1))], 0)
    r.check("cosig time 2^63", ["cosig", wit.vkey, signed(key, ext, wit.cosign(ext, 2**63))], 1)
    r.check("cosig sig bit", ["cosig", wit.vkey, flip_sig(cos, 1)], 1)
    r.check("cosig absent", ["cosig", wit.vkey, cps[9]], 1)
    r.check("cosig other witness", ["cosig", Key("castellan.test/witness", sigtype=4).vkey, cos], 1)
    other_body = wit.cosign(body(origin, 9, t.mth(0, 9)), 5)
    r.check("cosig over other body", ["cosig", wit.vkey, signed(key, ext, other_body)], 1)

    # malformed checkpoints / files, each validly signed (exit 1)
    good = b64e(t.mth(0, 8))
    for lbl, text in [("leading zero size", f"{origin}\n08\n{good}\n"), ("plus size", f"{origin}\n+8\n{good}\n"),
                      ("2^63 size", f"{origin}\n{2**63}\n{good}\n"), ("two lines", f"{origin}\n8\n"),
                      ("empty origin", f"\n8\n{good}\n"), ("empty ext line", f"{origin}\n8\n{good}\n\next\n"),
                      ("short root", f"{origin}\n8\n{b64e(t.mth(0, 8)[:31])}\n"),
                      ("noncanonical root", f"{origin}\n8\n{good[:-2]}1=\n"),
                      ("unpadded root", f"{origin}\n8\n{good[:-1]}\n"),
                      ("size 0 other root", f"{origin}\n0\n{good}\n")]:
        r.check(f"checkpoint {lbl}", ["note", key.vkey, signed(key, text.encode())], 1)
    r.check("size 0 empty root", ["note", key.vkey, cps[0]], 0, f"{out(0)}\n")
    r.check("CRLF note", ["note", key.vkey, cps[8].replace(b"\n", b"\r\n")], 1)
    r.check("no blank line", ["note", key.vkey, cps[8].replace(b"\n\n", b"\n")], 1)
    r.check("not UTF-8", ["note", key.vkey, signed(key, f"{origin}\xff\n8\n{good}\n".encode("latin-1"))], 1)
    dup = cps[8] + key.line(b"other text")  # x/mod rule: only a key's first line counts
    r.check("duplicate key line, first good", ["note", key.vkey, dup], 0)
    r.check("duplicate key line, first bad", ["note", key.vkey, flip_sig(dup, 0)], 1)
    r.check("unknown sig only", ["note", key.vkey, signed(other, body(origin, 8, t.mth(0, 8)))], 1)
    pr8 = t.path(3, 0, 8)
    r.check("index 03", ["inclusion", key.vkey, proof_file("03", pr8, cps[8]), t.leaves[3]], 1)
    r.check("no header", ["inclusion", key.vkey, proof_file(3, pr8, cps[8])[23:], t.leaves[3]], 1)
    r.check("CRLF proof lines", ["inclusion", key.vkey, proof_file(3, pr8, cps[8]).replace(b"=\n", b"=\r\n"),
                                 t.leaves[3]], 1)
    r.check("CRLF consistency lines", ["consistency", key.vkey, cps[3], cps[8],
                                       pf(t.consistency(3, 8)).replace("\n", "\r\n")], 1)
    r.check("66 hashes", ["inclusion", key.vkey, proof_file(3, pr8 * 22, cps[8]), t.leaves[3]], 1)
    # usage errors (exit 2)
    r.check("no args", [], 2, pycli=True)
    r.check("missing file", ["note", key.vkey, Lit(os.path.join(r.tmp, "absent"))], 2, pycli=True)
    r.check("vkey with wrong key ID", ["note", f"{origin}+00000000+{b64e(key.tag)}", cps[8]], 2)
    r.check("vkey with bad base64", ["note", key.vkey + "!", cps[8]], 2)
    r.check("dash without witness body", ["consistency", key.vkey, cps[1], "-", pf(t.consistency(1, 8))], 2)


def section_vectors(r):
    """transparency-dev/merkle JSON vectors: RFC 9162 core and both CLIs."""
    base = os.path.join(DATA, "transparency-dev-merkle")
    key = Key("castellan.test/vectors")
    rfc_leaves = [bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243",
                                              "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
    by_hash = {b64e(H(b"\x00" + d)): d for d in rfc_leaves}
    # Known policy difference: 12-byte "roots" cannot appear in a checkpoint.
    policy = {"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}
    note = lambda size, root: signed(key, f"castellan.test/vectors\n{size}\n{root}\n".encode())  # noqa: E731
    d64 = lambda s: base64.b64decode(s)  # noqa: E731
    count = 0
    for kind in ["inclusion", "consistency"]:
        for path in sorted(glob.glob(os.path.join(base, kind, "**", "*.json"), recursive=True)):
            rel, v = os.path.relpath(path, base), json.load(open(path))
            proof, want = v["proof"] or [], 1 if (v["wantErr"] or os.path.relpath(path, base) in policy) else 0
            count += 1
            if kind == "inclusion":
                core = pyv.verify_inclusion(v["leafIdx"], v["treeSize"], d64(v["leafHash"]),
                                            [d64(p) for p in proof], d64(v["root"]))
                leaf = by_hash.get(v["leafHash"])
                if leaf is None and v["wantErr"]:
                    leaf = d64(v["leafHash"])  # any data whose hash is not the claimed leaf hash
                if leaf is None:
                    r.skips.append(f"{rel} (leaf data for {v['leafHash']} unknown; core only)")
                else:
                    r.check(rel, ["inclusion", key.vkey, "".join(f"{x}\n" for x in
                            ["c2sp.org/tlog-proof@v1", f"index {v['leafIdx']}"] + proof).encode()
                            + b"\n" + note(v["treeSize"], v["root"]), leaf], want)
            else:
                core = pyv.verify_consistency(v["size1"], v["size2"], [d64(p) for p in proof],
                                              d64(v["root1"]), d64(v["root2"]))
                r.check(rel, ["consistency", key.vkey, note(v["size1"], v["root1"]),
                              note(v["size2"], v["root2"]), "".join(p + "\n" for p in proof)], want)
            if core != (want == 0):
                r.fails.append(f"{rel}: RFC 9162 core returned {core}, wantErr {v['wantErr']}")
    if count != 196:
        r.fails.append(f"expected 196 inclusion+consistency vectors, found {count}")


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: selftest.py PATH_TO_GO_TLOGCHECK")
    if not os.path.isdir(DATA):
        sys.exit(f"selftest: vector data not found at {DATA} (set TLOGCHECK_DATA)")
    with tempfile.TemporaryDirectory() as tmp:
        r = Runner(os.path.abspath(sys.argv[1]), tmp)
        for section in [section_reference, section_tessera, section_vectors, section_generated]:
            before, cases = len(r.fails), r.cases
            section(r)
            print(f"{section.__name__}: {r.cases - cases} cases, {len(r.fails) - before} failures")
    for s in r.skips:
        print(f"  skipped on CLI: {s}")
    for f in r.fails:
        print(f"FAIL {f}")
    print(f"selftest: {'FAILED' if r.fails else 'passed'} ({len(r.fails)} failures)")
    return 1 if r.fails else 0


if __name__ == "__main__":
    sys.exit(main())
