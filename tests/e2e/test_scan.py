"""`castellan scan`: the model scanner through its command line, on real fixtures.

Every file of picklescan's test set gets the verdict its MANIFEST expects (malicious files
flagged, benign ones clean, broken ones incomplete or flagged: never clean; the one
password-protected zip is incomplete, since an encrypted member cannot be scanned); JSON and
SARIF outputs are well formed; exit statuses 0/1/2/64; --allow admits an unknown global;
symbolic links inside a scanned directory are not followed. Files built here that the loaders
read differently from a naive reader: the last of two end records, a central directory longer
than its count, a zip moved behind a prefix ("concat"), two members under one name (or names
that differ only in case), a tar whose first bytes are a pickle, a .keras behind a text
prefix, PyTorch storage names that hold a .npy or a pickle.
"""
import csv
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib

import pytest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import sarifcheck  # noqa: E402

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
DATA = os.path.join(os.environ.get("CST_SOURCE_DIR", "."), "..", "shared", "data", "models",
                    "picklescan")
ORDER = {"clean": 0, "incomplete": 1, "flagged": 2}


def scan(*args):
    p = subprocess.run([CASTELLAN, "scan", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def verdicts(report, base):
    """The worst status of each top-level file (its own entry and its members')."""
    top = {}
    for e in report["entries"]:
        f = os.path.relpath(e["path"].split("!")[0], base)
        if ORDER[e["status"]] >= ORDER[top.get(f, "clean")]:
            top[f] = e["status"]
    return top


def test_picklescan_manifest():
    code, out, err = scan("--format", "json", DATA)
    assert code == 1, err
    top = verdicts(json.loads(out), DATA)
    wrong = []
    rows = list(csv.DictReader(open(os.path.join(DATA, "MANIFEST.tsv")), delimiter="\t"))
    assert len(rows) == 109
    for row in rows:
        f, expected, got = row["file"], row["expected"], top.get(row["file"], "missing")
        if f == "data/benign_password_protected.zip":
            ok = got == "incomplete"   # encrypted: cannot be scanned, never clean
        elif expected == "malicious":
            ok = got == "flagged"
        elif expected == "benign":
            ok = got == "clean"
        else:
            ok = got in ("incomplete", "flagged")
        if not ok:
            wrong.append((f, expected, got))
    assert not wrong, wrong


def test_dangerous_globals_named():
    code, out, _ = scan("--format", "json", os.path.join(DATA, "data", "malicious2_v0.pkl"),
                        os.path.join(DATA, "data2", "malicious23.pkl"),
                        os.path.join(DATA, "data", "broken_model.pkl"))
    assert code == 1
    entries = json.loads(out)["entries"]
    subjects = {(os.path.basename(e["path"]), f["subject"], f["severity"])
                for e in entries for f in e["findings"]}
    assert any(s[0] == "malicious2_v0.pkl" and "system" in (s[1] or "") and s[2] == "critical"
               for s in subjects), subjects
    broken = next(e for e in entries if e["path"].endswith("broken_model.pkl"))
    assert not broken["complete"] and broken["error"]
    assert any("exec" in (f["subject"] or "") for f in broken["findings"])


def test_exit_statuses(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copy(os.path.join(DATA, "data", "benign0_v3.pkl"), clean)
    (clean / "README.md").write_text("# a model\n")
    assert scan(str(clean))[0] == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(os.path.join(DATA, "data", "bad_pytorch.pt"), broken)
    code, out, _ = scan(str(broken))
    assert code == 2, out
    assert "incomplete" in out
    assert scan()[0] == 64
    assert scan("--format", "xml", str(clean))[0] == 64
    assert scan("--fail-at", "dire", str(clean))[0] == 64
    code, _, err = scan("--allow", str(tmp_path / "missing.txt"), str(clean))
    assert code == 64 and "missing.txt" in err


def test_allow_list_admits_unknown_global(tmp_path):
    # requests.api.get is on the deny-list (network): an allow entry must not admit it.
    f = os.path.join(DATA, "data", "malicious4.pickle")
    allow = tmp_path / "allow.txt"
    allow.write_text("# ours\nrequests.api.get\n")
    assert scan("--allow", str(allow), f)[0] == 1
    # An unknown (not denied) global fails the scan until the allow-list admits it.
    p = tmp_path / "custom.pkl"
    p.write_bytes(b"\x80\x02cmylib.model\nModel\nq\x00.")
    code, out, _ = scan("--format", "json", str(p))
    assert code == 1, out
    allow.write_text("mylib.model.Model\n")
    code, out, _ = scan("--allow", str(allow), str(p))
    assert code == 0, out


def test_sarif(tmp_path):
    code, out, _ = scan("--format", "sarif", os.path.join(DATA, "data", "malicious1.zip"),
                        os.path.join(DATA, "data", "bad_pytorch.pt"))
    assert code == 1
    s = json.loads(out)
    assert s["version"] == "2.1.0" and "sarif" in s["$schema"]
    assert sarifcheck.check(s) == []
    run = s["runs"][0]
    assert run["tool"]["driver"]["name"] == "castellan"
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(ids) == len(set(ids))
    for r in run["results"]:
        assert r["level"] in ("none", "note", "warning", "error")
        assert ids[r["ruleIndex"]] == r["ruleId"]
        assert r["message"]["text"]
        loc = r["locations"][0]
        assert "!" not in loc["physicalLocation"]["artifactLocation"]["uri"]
    member = [r for r in run["results"] if r.get("locations", [{}])[0].get("logicalLocations")]
    assert member and member[0]["locations"][0]["logicalLocations"][0][
        "fullyQualifiedName"].endswith("malicious1.zip!data.pkl")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("bad_pytorch.pt" in n["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"] for n in notes)


def test_symlinks_not_followed(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    os.symlink(os.path.join(DATA, "data", "malicious1_v4.pkl"), d / "link.pkl")
    (d / "ok.txt").write_text("hello\n")
    code, out, _ = scan("--format", "json", str(d))
    assert code == 0, out
    paths = [e["path"] for e in json.loads(out)["entries"]]
    assert not any(p.endswith("link.pkl") for p in paths)


# ---- archives that the loaders read differently from a naive reader ------------------------
# Built with struct and zipfile only. EVIL is os.system("true") as a protocol-2 pickle (never
# loaded here); GOOD_PKL an empty dict; GOOD_NPY a plain int64 .npy; obj_npy an object array
# whose body is a pickle.

EVIL = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00true\x85R."
GOOD_PKL = b"\x80\x02}q\x00."


def npy(descr, body, shape="(1,)"):
    h = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)).encode()
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + body


GOOD_NPY = npy("<i8", struct.pack("<3q", 0, 1, 2), "(3,)")


def local(name, data):
    n = name.encode()
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data),
                       len(data), len(data), len(n), 0) + n + data


def central(name, data, off):
    n = name.encode()
    return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0,
                       zlib.crc32(data), len(data), len(data), len(n), 0, 0, 0, 0, 0,
                       off) + n


def eocd(n, cd_size, cd_off, clen=0):
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, cd_size, cd_off, clen)


def locals_at(base, members):
    out, offs = b"", []
    for name, data in members:
        offs.append(base + len(out))
        out += local(name, data)
    return out, offs


def directory(members, offs):
    return b"".join(central(n, d, o) for (n, d), o in zip(members, offs))


def scan_json(path):
    code, out, err = scan("--format", "json", str(path))
    return code, json.loads(out) if out else None, err


def dangerous(rep, suffix):
    """Whether an entry whose path ends with suffix names a dangerous global."""
    return any(e["path"].endswith(suffix) and any(f["rule"] == "pickle.global.dangerous"
                                                  for f in e["findings"])
               for e in rep["entries"])


def top_rules(rep):
    return {(f["rule"], f["severity"]) for f in rep["entries"][0]["findings"]}


def test_zip_last_end_record(tmp_path):
    """zipfile and miniz take the last end record, even inside an earlier one's comment."""
    g = [("archive/data.pkl", b"\x80\x02}q\x00."), ("archive/version", b"3\n")]
    m = [("archive/data.pkl", EVIL), ("archive/version", b"3\n")]
    ml, moffs = locals_at(0, m)
    gl, goffs = locals_at(len(ml), g)
    gcd, mcd = directory(g, goffs), directory(m, moffs)
    tail = mcd + eocd(2, len(mcd), len(ml) + len(gl) + len(gcd) + 22) + b"\0"
    f = tmp_path / "eocd.pt"
    f.write_bytes(ml + gl + gcd + eocd(2, len(gcd), len(ml) + len(gl), len(tail)) + tail)
    code, rep, err = scan_json(f)
    assert code == 1, (rep, err)
    assert dangerous(rep, "!archive/data.pkl"), rep
    assert ("zip.ambiguous_eocd", "high") in top_rules(rep)


def test_zip_count_ignored(tmp_path):
    """zipfile reads the central directory to its size, whatever the count says."""
    m = [("a.npy", GOOD_NPY), ("b.npy", npy("|O", EVIL))]
    lh, offs = locals_at(0, m)
    cd = directory(m, offs)
    f = tmp_path / "count.npz"
    f.write_bytes(lh + cd + eocd(1, len(cd), len(lh)))
    code, rep, _ = scan_json(f)
    assert code == 1, rep
    assert dangerous(rep, "!b.npy"), rep
    assert ("zip.count_mismatch", "high") in top_rules(rep)


def test_zip_concat(tmp_path):
    """zipfile reads the directory right before the end record and moves every offset by
    the difference ("concat"); miniz reads the one the end record names. Both are scanned."""
    z = [("a.npy", GOOD_NPY), ("b.npy", npy("|O", EVIL))]
    zl, zrel = locals_at(0, z)
    p = [("a.npy", GOOD_NPY), ("b.npy", GOOD_NPY)]
    pl, poffs = locals_at(0, p + [("pad.npy", GOOD_NPY + b"\0" * len(zl))])
    pcd = directory(p, poffs[:2])
    zcd = directory(z, [len(pl) - len(zl) + r for r in zrel])
    assert len(zcd) == len(pcd)
    f = tmp_path / "concat.npz"
    f.write_bytes(pl + pcd + zl + zcd + eocd(2, len(zcd), len(pl)))
    code, rep, _ = scan_json(f)
    assert code == 1, rep
    assert dangerous(rep, "!b.npy"), rep
    assert ("zip.concat", "high") in top_rules(rep)
    assert sum(e["path"].endswith("!a.npy") for e in rep["entries"]) == 2, rep


@pytest.mark.parametrize("first,second", [("archive/data.pkl", "archive/data.pkl"),
                                          ("archive/data.pkl", "archive/DATA.pkl")])
def test_zip_duplicate_names(tmp_path, first, second):
    """Two members under one name (miniz ignores ASCII case): loaders disagree which one they
    read, so both are scanned, whichever order the benign and the malicious copy come in."""
    for i, (a, b) in enumerate([(GOOD_PKL, EVIL), (EVIL, GOOD_PKL)]):
        m = [(first, a), ("archive/version", b"3\n"), (second, b)]
        lh, offs = locals_at(0, m)
        cd = directory(m, offs)
        f = tmp_path / ("dup%d.pt" % i)
        f.write_bytes(lh + cd + eocd(3, len(cd), len(lh)))
        code, rep, err = scan_json(f)
        assert code == 1, (rep, err)
        assert ("zip.duplicate_name", "high") in top_rules(rep), rep
        scanned = [e for e in rep["entries"] if "!archive/data" in e["path"].lower()]
        assert len(scanned) == 2, rep
        bad = scanned[1] if a == GOOD_PKL else scanned[0]
        assert any(f["rule"] == "pickle.global.dangerous" for f in bad["findings"]), rep


def test_tar_pickle_polyglot(tmp_path):
    """A ustar file whose first header starts with a pickle: pickle.load reads the pickle."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("a")
        ti.size = 6
        t.addfile(ti, io.BytesIO(b"hello\n"))
    d = bytearray(b.getvalue())
    p = b"cos\nsystem\n(S'true'\ntR."
    d[0:100] = p + b"\0" * (100 - len(p))
    d[148:156] = b" " * 8
    d[148:156] = b"%06o\0 " % sum(d[0:512])
    f = tmp_path / "poly.tar"
    f.write_bytes(bytes(d))
    assert tarfile.open(f).getmembers()[0].size == 6
    code, rep, _ = scan_json(f)
    assert code == 1, rep
    assert ("scan.polyglot", "high") in top_rules(rep)
    assert dangerous(rep, "poly.tar"), rep
    # an ordinary tar whose first name merely starts like a pickle opcode stays clean
    with tarfile.open(tmp_path / "plain.tar", "w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("abc.txt")
        ti.size = 6
        t.addfile(ti, io.BytesIO(b"hello\n"))
    code, rep, _ = scan_json(tmp_path / "plain.tar")
    assert code == 0, rep


def test_prepended_zip(tmp_path):
    """zipfile (Keras) opens a .keras behind a text prefix: the prefix must not hide it."""
    cfg = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {
            "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHME",
                                                   "defaults": None, "closure": None}}}}]}}
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
        z.writestr("config.json", json.dumps(cfg))
    f = tmp_path / "prefixed.keras"
    f.write_bytes((b"# model card\n" + b"x" * 70 + b"\n") * 8 + b.getvalue())
    with zipfile.ZipFile(f) as z:
        assert "config.json" in z.namelist()
    code, rep, _ = scan_json(f)
    assert code == 1, rep
    assert ("zip.prepended_data", "medium") in top_rules(rep)
    assert ("keras.lambda", "critical") in top_rules(rep)
    (tmp_path / "notes.txt").write_text("just text\n" * 100)
    assert scan_json(tmp_path / "notes.txt")[0] == 0


def test_torch_storages_skipped_exactly(tmp_path):
    """Only <archive>/data/<key> of the archive PyTorch loads is a storage, and never one
    that starts like a .npy, a pickle or a zip: numpy loads such members from an .npz."""
    f = tmp_path / "skip.npz"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("a.npy", GOOD_NPY)
        z.writestr("z/data.pkl", b"\x80\x02K\x01.")
        z.writestr("z/data/b.npy", npy("|O", EVIL))
    code, rep, _ = scan_json(f)
    assert code == 1, rep
    assert dangerous(rep, "!z/data/b.npy"), rep
    f = tmp_path / "model.pt"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02K\x01.")
        z.writestr("archive/data/0", b"\0" * 64)
        z.writestr("archive/data/1", npy("|O", EVIL))
        z.writestr("archive/data/2", EVIL)
    code, rep, _ = scan_json(f)
    assert code == 1, rep
    assert dangerous(rep, "!archive/data/1") and dangerous(rep, "!archive/data/2"), rep
    assert not any(e["path"].endswith("!archive/data/0") for e in rep["entries"]), rep


def test_hugging_face_chat_templates(tmp_path):
    """A chat template beside the weights (chat_template.jinja, or "chat_template" in
    tokenizer_config.json: a string or a list of named templates) gets the template scan; a
    benign one stays clean, and JSON that cannot be read leaves the scan incomplete."""
    evil = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
    benign = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
              "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}")
    cases = [
        ("chat_template.jinja", evil, 1),
        ("tokenizer_config.json", json.dumps({"chat_template": evil}), 1),
        ("tokenizer_config.json", json.dumps({"chat_template": [
            {"name": "default", "template": benign}, {"name": "tool_use", "template": evil}]}), 1),
        ("chat_template.json", json.dumps({"chat_template": evil}), 1),
        ("chat_template.jinja", benign, 0),
        ("tokenizer_config.json", json.dumps({"chat_template": benign, "eos_token": "</s>"}), 0),
        ("tokenizer_config.json", '{"chat_template": "x", "chat_template": "y"}', 2),
    ]
    for i, (name, text, want) in enumerate(cases):
        d = tmp_path / str(i)
        d.mkdir()
        (d / name).write_text(text)
        code, out, err = scan("--format", "json", str(d))
        assert code == want, (name, text, out, err)
        if want == 1:
            assert "gguf.chat_template" in out, out
