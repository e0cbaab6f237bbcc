"""`castellan detect --jobs N`: files read by several threads give the report one thread gives,
byte for byte in every format (json, text, markdown, ocsf), on the public data sets and on a
gzip'd S3 tree with the same records delivered twice in different files (deduplication keeps
the copy that comes first in walk order), with --since/--until; and --jobs is checked as a
usage error.
"""
import gzip
import json
import os
import subprocess

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
DATA = os.path.join(os.environ.get("CST_SOURCE_DIR", "."), "..", "shared", "data")
CT = os.path.join(DATA, "cloudtrail")
RULES = os.path.join(DATA, "sigma", "cloudtrail")


def detect(*args):
    """Exit code, the report without its run statistics (times, rates, memory), stderr."""
    p = subprocess.run([CASTELLAN, "detect", "run", *args], capture_output=True, timeout=300)
    out = p.stdout
    if "--format" in args and args[args.index("--format") + 1] == "json" and p.returncode < 2:
        doc = json.loads(out)
        assert doc.pop("stats")["records"] == doc["summary"]["records"]
        out = json.dumps(doc, indent=1).encode()
    elif b"\nstats: files=" in out:
        out = b"\n".join(x for x in out.split(b"\n") if not x.startswith(b"stats: files="))
    return p.returncode, out, p.stderr.decode()


def raw(*args):
    """Exit code and the report exactly as written, less its run statistics: the "stats"
    member that ends a JSON report, the "stats: files=" line of text and markdown."""
    p = subprocess.run([CASTELLAN, "detect", "run", *args], capture_output=True, timeout=300)
    out = p.stdout
    cut = out.find(b',\n "stats": {')
    if cut >= 0:
        assert out.endswith(b"}\n}\n")
        out = out[:cut]
    return p.returncode, b"\n".join(x for x in out.split(b"\n")
                                     if not x.startswith(b"stats: files="))


def tree(tmp_path):
    """Invictus as gzip'd S3 files, twice: copies under a later name (dropped as duplicates)
    and under an earlier one (the copy kept is the earlier file's)."""
    src = os.path.join(CT, "invictus", "CloudTrail")
    day = tmp_path / "AWSLogs" / "218007301253" / "CloudTrail" / "us-east-1" / "2023" / "07" / "10"
    day.mkdir(parents=True)
    for i, name in enumerate(sorted(os.listdir(src))):
        raw = open(os.path.join(src, name), "rb").read()
        with gzip.open(day / (name + ".gz"), "wb") as f:
            f.write(raw)
        if i % 3 == 0:
            with gzip.open(day / ("zz_copy_%02d.json.gz" % i), "wb") as f:
                f.write(raw)
        if i % 5 == 0:
            with gzip.open(day / ("00_copy_%02d.json.gz" % i), "wb") as f:
                f.write(raw)
    return str(tmp_path)


def test_jobs_identical_on_public_data():
    for fmt in ("json", "text"):
        runs = [detect("--rules", RULES, "--format", fmt, "--jobs", str(j), CT) for j in (1, 2, 3)]
        assert runs[0][0] == 1, runs[0][2]  # findings (LICENSE files and the like: skipped)
        for code, out, err in runs[1:]:
            assert code == runs[0][0] and out == runs[0][1]


def test_jobs_byte_identical_every_format(tmp_path):
    """Every format, written as it goes, is the same bytes whatever the number of threads, on
    the public data and on the gzip'd tree with duplicates."""
    root = tree(tmp_path)
    for src in (CT, root):
        for fmt in ("json", "text", "markdown", "ocsf"):
            runs = [raw("--rules", RULES, "--format", fmt, "--jobs", str(j), src)
                    for j in (1, 2, 3)]
            assert runs[0][0] == 1 and len(runs[0][1]) > 10000, (src, fmt)
            for code, out in runs[1:]:
                assert code == 1 and out == runs[0][1], (src, fmt)
            if fmt == "json":  # the layout jansson gives the whole document
                doc = json.loads(runs[0][1] + b"}")
                assert doc["summary"]["findings"] == len(doc["findings"]) > 0


def test_jobs_identical_with_duplicates_across_files(tmp_path):
    root = tree(tmp_path)
    one = detect("--rules", RULES, "--format", "json", "-j1", root)
    two = detect("--rules", RULES, "--format", "json", "-j2", root)
    assert one[0] == 1 and two[0] == 1, one[2]
    assert one[1] == two[1]
    rep = json.loads(one[1])
    s = rep["summary"]
    assert s["records"] == 2900 and s["duplicates"] > 0 and s["files"] == 55 + 19 + 11
    # the copies named 00_* come first in walk order: their records are the ones kept
    kept = {os.path.basename(f["event"]["file"])[:3] for f in rep["findings"]}
    assert "00_" in kept and "zz_" not in kept


def test_jobs_identical_with_time_window(tmp_path):
    root = tree(tmp_path)
    args = ("--rules", RULES, "--format", "json", "--since", "2023-07-10T12:00:00Z",
            "--until", "2023-07-10T12:20:00Z")
    one = detect(*args, "-j1", root)
    two = detect(*args, "-j2", root)
    assert one[1] == two[1]
    s = json.loads(one[1])["summary"]
    assert 0 < s["filtered_out"] < s["records"] == 2900


def test_jobs_usage():
    for bad in ("0", "x", "65", "-1", ""):
        code, out, err = detect("--jobs", bad, CT)
        assert code == 64, (bad, err)
