"""`castellan scan`: the model scanner through its command line, on real fixtures.

Every file of picklescan's test set gets the verdict its MANIFEST expects (malicious files
flagged, benign ones clean, broken ones incomplete or flagged: never clean; the one
password-protected zip is incomplete, since an encrypted member cannot be scanned); JSON and
SARIF outputs are well formed; exit statuses 0/1/2/64; --allow admits an unknown global;
symbolic links inside a scanned directory are not followed.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

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
