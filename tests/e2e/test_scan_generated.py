"""`castellan scan` on the generated corpus (tests/gen/make_scan_corpus.py): one or more
artifacts per known scanner bypass (B1-B18 of the supply-chain reference) and real benign
artifacts made with torch, numpy, joblib and sklearn. The generator runs into a temporary
directory at test time; every file then goes through the real binary on its own:
malicious -> exit 1 with every rule its MANIFEST row names; benign -> exit 0 and no finding
above info; incomplete -> never 0: exit 2, or 1 when the parse error itself is reported as a
finding at or above the failing severity, with an entry marked incomplete."""
import csv
import json
import os
import subprocess

import pytest

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
SOURCE = os.environ.get("CST_SOURCE_DIR", ".")
GEN = os.path.join(SOURCE, "tests", "gen", "make_scan_corpus.py")
EXIT = {"malicious": 1, "benign": 0, "incomplete": 2}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("scan_corpus")
    subprocess.run(["/usr/bin/python3", GEN, str(out)], check=True, timeout=600)
    rows = list(csv.DictReader(open(out / "MANIFEST.tsv"), delimiter="\t"))
    return out, rows


def scan_one(path):
    p = subprocess.run([CASTELLAN, "scan", "--format", "json", str(path)], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, json.loads(p.stdout) if p.stdout else None, p.stderr


def test_manifest_covers_every_bypass(corpus):
    _, rows = corpus
    have = {r["bypass"] for r in rows}
    for b in [f"B{i}" for i in range(1, 19)] + ["real"]:
        assert b in have, b
    kinds = {r["expected"] for r in rows}
    assert kinds == {"malicious", "benign", "incomplete"}
    assert len(rows) >= 100


def test_every_verdict(corpus):
    out, rows = corpus
    wrong = []
    for r in rows:
        code, rep, err = scan_one(out / r["file"])
        want = EXIT[r["expected"]]
        if rep is None:
            wrong.append((r["file"], "no report", code, err[-300:]))
            continue
        found = {f["rule"] for e in rep["entries"] for f in e["findings"]}
        above_info = [(f["rule"], f["subject"]) for e in rep["entries"] for f in e["findings"]
                      if f["severity"] != "info"]
        missing = [x for x in r["rules"].split(",") if x and x not in found]
        if r["expected"] == "incomplete":
            # Parse errors are findings (high) too: flagged or incomplete, never clean, and
            # some entry must say it was not read completely.
            ok = code in (1, 2) and any(not e["complete"] for e in rep["entries"])
        else:
            ok = code == want
        if not ok or missing or (r["expected"] == "benign" and above_info):
            wrong.append((r["file"], r["expected"], code, missing, above_info[:4]))
    assert not wrong, "\n".join(map(str, wrong))


def test_joblib_arrays_are_skipped_exactly(corpus):
    """A real joblib file reports each array it skips, and a byte more or less breaks it."""
    out, _ = corpus
    path = out / "real" / "arrays.joblib"
    code, rep, _ = scan_one(path)
    assert code == 0
    skipped = [f for e in rep["entries"] for f in e["findings"]
               if f["rule"] == "pickle.joblib.array"]
    # eight raw arrays (the numpy scalar is pickled inline) and one object array
    assert len(skipped) == 9, skipped
    assert sum("nested pickle" in f["detail"] for f in skipped) == 1, skipped
    data = path.read_bytes()
    for name, bad in (("cut", data[:-2]), ("grown", data[:-1] + b"\0" + data[-1:])):
        f = out / (name + ".joblib")
        f.write_bytes(bad)
        code, rep, _ = scan_one(f)
        assert code in (1, 2), name
        assert any(not e["complete"] for e in rep["entries"]), name
        assert any(x["rule"] == "pickle.parse_error" for e in rep["entries"]
                   for x in e["findings"]), name
