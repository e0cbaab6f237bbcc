"""castellan secrets --git on hostile packs written here: the work of resolving one object is
bounded (a delta chain over 16 times --max-file-size is an error, not read), commits are
read up to 16 MiB, and a pack with a version-1 index is read by the pack reader, its cyclic
delta an error (libgit2 would follow it for ever), while a pack the reader cannot open stops
the scan. The credentials are fake."""
import hashlib
import json
import os
import struct
import subprocess
import zlib

from conftest import CASTELLAN
from test_secrets import AWS


def oid(kind, data):
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).digest()


def hdr(t, size):
    out, c = [], (t << 4) | (size & 15)
    size >>= 4
    while size:
        out.append(c | 0x80)
        c, size = size & 0x7f, size >> 7
    out.append(c)
    return bytes(out)


def varint(n):
    out = []
    while True:
        c, n = n & 0x7f, n >> 7
        out.append(c | 0x80 if n else c)
        if not n:
            return bytes(out)


class Pack:
    """A pack of objects in the order added, with a version 2 (or 1) index."""

    def __init__(self):
        self.body, self.entries = b"", []

    def add(self, id_, entry):
        self.entries.append((id_, 12 + len(self.body)))
        self.body += entry
        return self.entries[-1][1]

    def whole(self, kind, data):
        t = {"commit": 1, "tree": 2, "blob": 3}[kind]
        return oid(kind, data), self.add(oid(kind, data), hdr(t, len(data)) +
                                         zlib.compress(data))

    def ofs_delta(self, base_off, delta, id_):
        dist = 12 + len(self.body) - base_off
        enc = [dist & 0x7f]
        dist >>= 7
        while dist:
            dist -= 1
            enc.insert(0, 0x80 | (dist & 0x7f))
            dist >>= 7
        return self.add(id_, hdr(6, len(delta)) + bytes(enc) + zlib.compress(delta))

    def ref_delta(self, base_id, delta, id_):
        return self.add(id_, hdr(7, len(delta)) + base_id + zlib.compress(delta))

    def write(self, objdir, version=2):
        data = b"PACK" + struct.pack(">II", 2, len(self.entries)) + self.body
        data += hashlib.sha1(data).digest()
        ents = sorted(self.entries)
        fan = b"".join(struct.pack(">I", sum(1 for e in ents if e[0][0] <= i))
                       for i in range(256))
        if version == 2:
            idx = b"\377tOc" + struct.pack(">I", 2) + fan + b"".join(e[0] for e in ents)
            idx += b"\0\0\0\0" * len(ents) + b"".join(struct.pack(">I", e[1]) for e in ents)
        else:
            idx = fan + b"".join(struct.pack(">I", e[1]) + e[0] for e in ents)
        idx += data[-20:]
        idx += hashlib.sha1(idx).digest()
        os.makedirs(objdir / "pack", exist_ok=True)
        name = objdir / "pack" / ("pack-" + data[-20:].hex())
        name.with_suffix(".pack").write_bytes(data)
        name.with_suffix(".idx").write_bytes(idx)


def tree(entries):
    return b"".join(b"100644 %s\0" % n + i for n, i in sorted(entries))


def commit(tree_id, msg=b"m\n"):
    return (b"tree " + tree_id.hex().encode() + b"\nauthor A <a@x> 1700000000 +0000\n"
            b"committer A <a@x> 1700000000 +0000\n\n" + msg)


def bare_repo(path, head):
    for d in ("objects/info", "refs/heads", "refs/tags"):
        os.makedirs(path / d, exist_ok=True)
    (path / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")
    (path / "refs" / "heads" / "main").write_text(head.hex() + "\n")


def scan(repo, *extra, timeout=60):
    p = subprocess.run([CASTELLAN, "secrets", "--format", "json", "--git", str(repo), *extra],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, json.loads(p.stdout) if p.stdout else None, p.stderr


def test_chain_over_the_work_budget(tmp_path):
    """A small blob stored as a delta of one over 16 times --max-file-size is an error naming
    the budget: resolving one object produces at most that (a chain of 4,096 deltas of 1 GiB
    each would otherwise cost 4 TiB from a pack of a few kilobytes)."""
    repo = tmp_path / "r"
    p = Pack()
    big = b"x" * 20000
    small = f"aws_access_key_id = {AWS}\n".encode()
    _, big_off = p.whole("blob", big)
    sid = oid("blob", small)
    p.ofs_delta(big_off, varint(len(big)) + varint(len(small)) + bytes([len(small)]) + small,
                sid)
    t, _ = p.whole("tree", tree([(b"big.txt", oid("blob", big)), (b"a.txt", sid)]))
    c, _ = p.whole("commit", commit(t))
    bare_repo(repo, c)
    p.write(repo / "objects")
    code, r, err = scan(repo, "--max-file-size", "1000")
    assert code == 2, err
    assert [(e["path"], e["message"]) for e in r["errors"] if e["path"] == "a.txt"] == [
        ("a.txt", "cannot read the blob: its delta chain would produce over 16000 bytes in "
         "all (16 times the limit)")], r["errors"]
    code, r, err = scan(repo)   # within the limit: read, the key found
    assert code == 1, err
    assert [f["path"] for f in r["findings"]] == ["a.txt"]


def test_commit_over_limit(tmp_path):
    """A commit over 16 MiB is an error, not read into a buffer of whatever size the pack
    says (a few kilobytes of pack could otherwise ask for gigabytes)."""
    repo = tmp_path / "r"
    p = Pack()
    t, _ = p.whole("tree", tree([]))
    c, _ = p.whole("commit", commit(t, b"m" * ((16 << 20) + 1)))
    bare_repo(repo, c)
    p.write(repo / "objects")
    code, r, err = scan(repo)
    assert code == 2, err
    # libgit2 reads the ref's commit through the pack reader, which refuses it
    assert [(e["path"], e["message"].split(":")[0]) for e in r["errors"]] == [
        ("refs/heads/main", "cannot read the ref's commit")], r["errors"]


def test_version_1_index_cyclic_delta(tmp_path):
    """A pack with a version-1 index is read by the pack reader: its cyclic reference delta is
    an error, and the scan ends (libgit2 would follow the cycle without bound)."""
    repo = tmp_path / "r"
    x, y = hashlib.sha1(b"X").digest(), hashlib.sha1(b"Y").digest()
    d = varint(10) + varint(10) + bytes([0x90, 10])
    cyc = Pack()
    cyc.ref_delta(y, d, x)
    cyc.ref_delta(x, d, y)
    p = Pack()
    t, _ = p.whole("tree", tree([(b"f.txt", x)]))
    c, _ = p.whole("commit", commit(t))
    bare_repo(repo, c)
    p.write(repo / "objects")
    cyc.write(repo / "objects", version=1)
    code, r, err = scan(repo, timeout=30)
    assert code == 2, err
    assert [(e["path"], e["message"]) for e in r["errors"]] == [
        ("f.txt", "cannot read the blob: the pack is malformed at this object")], r["errors"]


def test_unreadable_pack_stops_the_scan(tmp_path):
    """A pack whose index the reader cannot open (version 3 here) is an error for the whole
    scan: its objects are not left to libgit2."""
    repo = tmp_path / "r"
    p = Pack()
    blob = f"aws_access_key_id = {AWS}\n".encode()
    b, _ = p.whole("blob", blob)
    t, _ = p.whole("tree", tree([(b"a.txt", b)]))
    c, _ = p.whole("commit", commit(t))
    bare_repo(repo, c)
    p.write(repo / "objects")
    idx = next((repo / "objects" / "pack").glob("*.idx"))
    raw = bytearray(idx.read_bytes())
    raw[7] = 3
    idx.write_bytes(bytes(raw))
    code, r, err = scan(repo)
    assert code == 2, err
    assert any("a pack file cannot be read" in e["message"] for e in r["errors"]), r["errors"]
