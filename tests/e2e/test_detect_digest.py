"""`castellan detect validate-digests`: CloudTrail log file integrity validation (IR-1).

Each test writes a realistic bucket tree with tests/gen/make_cloudtrail_digests.py (gzip'd logs
and hourly SHA256withRSA-signed digests chained as CloudTrail chains them), changes it the way
an attacker or an accident would, and checks exactly what the binary reports: the per-file
results, the aws-cli-style summary counts and the exit status (0 all valid, 1 problems,
2 unreadable input, 64 usage).
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

SRC = os.environ.get("CST_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "gen"))
import make_cloudtrail_digests as gen  # noqa: E402

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")


@pytest.fixture(scope="module")
def key():
    return gen.new_key()


@pytest.fixture
def tree(tmp_path, key):
    """A 4-hour chain with 3 logs an hour, and the public key in both formats."""
    pem, listing = gen.write_keys(key, str(tmp_path))
    root = str(tmp_path / "bucket")
    info = gen.make_tree(root, key)
    info.update(root=root, pem=pem, listing=listing, tmp=tmp_path)
    return info


def validate(*args):
    p = subprocess.run([CASTELLAN, "detect", "validate-digests", *args], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def vjson(*args):
    code, out, err = validate("--format", "json", *args)
    return code, json.loads(out), err


def uri(key_path):
    return "s3://ct-bucket/" + key_path


def results(rep, kind=None, state=None):
    return [r for r in rep["results"]
            if (kind is None or r["kind"] == kind) and (state is None or r["state"] == state)]


def summary(rep):
    s = rep["summary"]
    return (s["digests_valid"], s["digests_invalid"], s["logs_valid"], s["logs_invalid"],
            s["extra"], s["gaps"], s["unreadable"])


def rewrite_gz(path, change):
    with gzip.open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(gzip.compress(change(data), mtime=0))


def test_all_valid_without_key_signatures_not_checked(tree):
    code, rep, err = vjson(tree["root"])
    assert code == 0, err
    assert summary(rep) == (4, 0, 12, 0, 0, 0, 0)
    s = rep["summary"]
    assert (s["signatures_not_checked"], s["signatures_verified"], s["chains"]) == (4, 0, 1)
    assert (s["first"], s["last"]) == ("2024-07-31T10:01:31.000Z", "2024-07-31T14:01:31.000Z")
    digests = results(rep, "digest")
    assert [d["uri"] for d in digests] == [uri(d["key"]) for d in tree["digests"]]
    assert all(d["signature"] == "not_checked" for d in digests)
    assert sorted(r["uri"] for r in results(rep, "log")) == sorted(uri(l["key"])
                                                                    for l in tree["logs"])
    code, out, err = validate(tree["root"])
    assert code == 0
    assert out.splitlines()[-4:] == [
        "4/4 digest files valid", "12/12 log files valid",
        "signatures: not checked (no --public-key) for 4 digest files",
        "0 extra log files (listed by no valid digest), 0 gaps, 0 unreadable, 1 chains, "
        "0 other files"]
    assert "Results found for 2024-07-31T10:01:31Z to 2024-07-31T14:01:31Z:" in out
    assert "\n4/4 digest files valid\n12/12 log files valid\n" in out
    assert "signatures: not checked (no --public-key) for 4 digest files" in out
    # verbose: a digest whose signature was not checked never reads plain "valid"
    code, out, err = validate("--verbose", tree["root"])
    lines = [l for l in out.splitlines() if l.startswith("Digest file\t")]
    assert len(lines) == 4 and all("\tvalid (signature not checked)\t" in l for l in lines)


@pytest.mark.parametrize("which", ["pem", "listing", "dir"])
def test_all_valid_with_key(tree, which):
    if which == "dir":
        d = tree["tmp"] / "keys"
        d.mkdir()
        shutil.copy(tree["pem"], d / "a.pem")
        shutil.copy(tree["listing"], d / "b.json")
        keyarg = str(d)
    else:
        keyarg = tree[which]
    code, rep, err = vjson("--public-key", keyarg, tree["root"])
    assert code == 0, err
    assert summary(rep) == (4, 0, 12, 0, 0, 0, 0)
    assert rep["summary"]["signatures_verified"] == 4
    assert all(d["signature"] == "verified" for d in results(rep, "digest"))
    code, out, err = validate("--public-key", keyarg, tree["root"])
    assert "signatures: 4 verified, 0 failed" in out


def test_log_altered_one_byte(tree):
    victim = tree["logs"][4]
    rewrite_gz(victim["path"], lambda b: b.replace(b"198.51.100.7", b"198.51.100.8", 1))
    code, rep, err = vjson("--public-key", tree["pem"], tree["root"])
    assert code == 1
    assert summary(rep) == (4, 0, 11, 1, 0, 0, 0)
    bad = results(rep, "log", "invalid")
    assert [(b["uri"], b["path"], b["reason"]) for b in bad] == [
        (uri(victim["key"]), victim["path"], "hash value doesn't match")]
    code, out, err = validate(tree["root"])
    assert f"Log file\t{uri(victim['key'])}\tINVALID: hash value doesn't match" in out
    assert "11/12 log files valid, 1/12 log files INVALID" in out


def test_log_truncated_gzip(tree):
    victim = tree["logs"][0]
    data = open(victim["path"], "rb").read()
    open(victim["path"], "wb").write(data[:len(data) // 2])
    code, rep, err = vjson(tree["root"])
    assert code == 1
    assert summary(rep) == (4, 0, 11, 1, 0, 0, 0)
    [bad] = results(rep, "log", "invalid")
    assert bad["reason"] == "invalid format: truncated gzip data"


def test_log_deleted(tree):
    victim = tree["logs"][7]
    os.unlink(victim["path"])
    code, rep, err = vjson(tree["root"])
    assert code == 1
    assert summary(rep) == (4, 0, 11, 1, 0, 0, 0)
    [m] = results(rep, "log", "missing")
    assert (m["uri"], m["path"], m["reason"]) == (uri(victim["key"]), None, "not found")
    code, out, err = validate(tree["root"])
    assert f"Log file\t{uri(victim['key'])}\tINVALID: not found\n" in out


def test_extra_log(tree):
    d = os.path.dirname(tree["logs"][3]["path"])
    extra = os.path.join(d, "123456789012_CloudTrail_us-east-1_20240731T1150Z_ffffffffffffffff.json.gz")
    open(extra, "wb").write(gzip.compress(b'{"Records":[]}'))
    # outside every digest's time: unvalidated, said differently
    late = os.path.join(d, "123456789012_CloudTrail_us-east-1_20240731T2350Z_eeeeeeeeeeeeeeee.json.gz")
    open(late, "wb").write(gzip.compress(b'{"Records":[]}'))
    code, rep, err = vjson(tree["root"])
    assert code == 1
    assert summary(rep) == (4, 0, 12, 0, 2, 0, 0)
    ex = {r["path"]: r["reason"] for r in results(rep, "log", "extra")}
    assert ex == {
        extra: "not listed by any valid digest file (a digest of its account and region "
               "covers its delivery time)",
        late: "not listed by any valid digest file (no valid digest covers its delivery time)"}
    code, out, err = validate(tree["root"])
    assert f"Log file\t{extra}\tEXTRA: not listed by any valid digest file" in out


def test_digest_deleted_breaks_chain(tree):
    victim = tree["digests"][1]
    os.unlink(victim["path"])
    code, rep, err = vjson("--public-key", tree["pem"], tree["root"])
    assert code == 1
    # the missing digest counts as an invalid digest file; its three logs are now unvalidated
    assert summary(rep) == (3, 1, 9, 0, 3, 0, 0)
    [m] = results(rep, "digest", "missing")
    nxt = tree["digests"][2]
    assert (m["uri"], m["path"]) == (uri(victim["key"]), None)
    assert m["reason"] == f"not found (the previous digest of {uri(nxt['key'])})"
    assert sorted(r["path"] for r in results(rep, "log", "extra")) == sorted(
        l["path"] for l in tree["logs"] if l["hour"] == 1)
    code, out, err = validate(tree["root"])
    assert f"Digest file\t{uri(victim['key'])}\tINVALID: not found (the previous digest" in out
    assert "3/4 digest files valid, 1/4 digest files INVALID" in out


def test_oldest_digest_absent_is_a_note(tree):
    os.unlink(tree["digests"][0]["path"])
    for l in tree["logs"]:
        if l["hour"] == 0:
            os.unlink(l["path"])
    code, rep, err = vjson(tree["root"])
    assert code == 0, rep
    assert summary(rep) == (3, 0, 9, 0, 0, 0, 0)
    [n] = results(rep, state="note")
    assert n["uri"] == uri(tree["digests"][0]["key"])
    assert n["reason"].startswith("the chain begins before the files given")


def test_time_gap_restart(tmp_path, key):
    root = str(tmp_path / "b")
    info = gen.make_tree(root, key, hours=5, restart_hours=(3,))
    assert len(info["digests"]) == 4
    code, rep, err = vjson(root)
    assert code == 1
    assert summary(rep) == (4, 0, 12, 0, 0, 1, 0)
    [g] = results(rep, "gap")
    assert (g["start"], g["end"]) == ("2024-07-31T12:01:31.000Z", "2024-07-31T13:01:31.000Z")
    assert "the chain restarts" in g["reason"]
    assert g["chain"] == ("ct-bucket:AWSLogs/123456789012/CloudTrail-Digest/us-east-1/"
                          "123456789012_CloudTrail-Digest_us-east-1_main-trail_us-east-1")
    code, out, err = validate(root)
    assert ("\tGAP: no digest file between 2024-07-31T12:01:31Z and 2024-07-31T13:01:31Z: "
            "no digest file between these times: the chain restarts") in out


def test_time_gap_times_do_not_meet(tmp_path, key):
    root = str(tmp_path / "b")
    gen.make_tree(root, key, skew=(2, 600))
    code, rep, err = vjson(root)
    assert code == 1
    assert summary(rep) == (4, 0, 12, 0, 0, 1, 0)
    [g] = results(rep, "gap")
    assert (g["start"], g["end"], g["reason"]) == (
        "2024-07-31T12:01:31.000Z", "2024-07-31T12:11:31.000Z", "the digest times do not meet")


def test_empty_hourly_digest_is_valid(tmp_path, key):
    pem, _ = gen.write_keys(key, str(tmp_path))
    root = str(tmp_path / "b")
    info = gen.make_tree(root, key, empty_hours=(1, 2))
    assert [len(d["doc"]["logFiles"]) for d in info["digests"]] == [3, 0, 0, 3]
    code, rep, err = vjson("--public-key", pem, root)
    assert code == 0, err
    assert summary(rep) == (4, 0, 6, 0, 0, 0, 0)
    assert rep["summary"]["signatures_verified"] == 4


def tamper_digest(d, new_hash="0" * 64):
    """What an attacker who altered a log would do: put the new hash into the digest."""
    def change(b):
        doc = json.loads(b)
        doc["logFiles"][0]["hashValue"] = new_hash
        return json.dumps(doc).encode()
    rewrite_gz(d["path"], change)


def test_tampered_digest_fails_signature_with_key(tree):
    victim = tree["digests"][1]
    tamper_digest(victim)
    code, rep, err = vjson("--public-key", tree["pem"], tree["root"])
    assert code == 1
    [bad] = results(rep, "digest", "invalid")
    assert (bad["uri"], bad["signature"], bad["reason"]) == (
        uri(victim["key"]), "failed", "signature verification failed")
    assert rep["summary"]["signatures_failed"] == 1
    assert rep["summary"]["signatures_verified"] == 3
    # its logs are unvalidated, not valid
    assert summary(rep) == (3, 1, 9, 0, 3, 0, 0)


def test_tampered_digest_without_key(tree):
    # the next digest's previousDigestHashValue still catches a digest with a successor...
    victim = tree["digests"][1]
    tamper_digest(victim)
    code, rep, err = vjson(tree["root"])
    assert code == 1
    [bad] = results(rep, "digest", "invalid")
    assert bad["signature"] == "not_checked"
    assert bad["reason"] == ("the SHA-256 of its content does not match previousDigestHashValue "
                             f"in {uri(tree['digests'][2]['key'])}")


def test_tampered_newest_digest_needs_the_key(tree):
    # ...but the newest digest has none: without a key the change goes unseen (the report
    # says the signatures were not checked); with the key it is caught
    newest, victim_log = tree["digests"][-1], tree["logs"][-1]
    rewrite_gz(victim_log["path"], lambda b: b.replace(b"alice", b"mallo", 1))
    with gzip.open(victim_log["path"]) as f:
        h = hashlib.sha256(f.read()).hexdigest()

    def change(b):
        doc = json.loads(b)
        for lf in doc["logFiles"]:
            if lf["s3Object"] == victim_log["key"]:
                lf["hashValue"] = h
        return json.dumps(doc).encode()
    rewrite_gz(newest["path"], change)
    code, rep, err = vjson(tree["root"])
    assert code == 0
    assert rep["summary"]["signatures_not_checked"] == 4
    code, rep, err = vjson("--public-key", tree["pem"], tree["root"])
    assert code == 1
    [bad] = results(rep, "digest", "invalid")
    assert (bad["uri"], bad["reason"]) == (uri(newest["key"]), "signature verification failed")


def test_signature_problems(tree, key, tmp_path):
    os.unlink(tree["digests"][0]["path"] + ".sig")
    with open(tree["digests"][1]["path"] + ".sig", "w") as f:
        f.write("not hex at all\n")
    with open(tree["digests"][2]["path"] + ".sig", "w") as f:
        json.dump({"Metadata": {"signature": tree["digests"][2]["sig"],
                                "signature-algorithm": "SHA256withRSA"}}, f)
    code, rep, err = vjson("--public-key", tree["pem"], tree["root"])
    assert code == 1
    by = {r["uri"]: (r["signature"], r["reason"]) for r in results(rep, "digest")}
    d = tree["digests"]
    assert by[uri(d[0]["key"])][0] == "failed"
    assert by[uri(d[0]["key"])][1].startswith("no signature: ")
    assert by[uri(d[1]["key"])][1].startswith("signature unusable: ")
    # head-object JSON as the sidecar works
    assert by[uri(d[2]["key"])] == ("verified", None)
    assert by[uri(d[3]["key"])] == ("verified", None)
    # another key: its fingerprint is not the digests'
    other = tmp_path / "other"
    other.mkdir()
    gen.write_keys(gen.new_key(), str(other))
    code, rep, err = vjson("--public-key", str(other / "key.pem"), tree["root"])
    assert code == 1
    reasons = {r["reason"] for r in results(rep, "digest")}
    assert f"public key not found for fingerprint {gen.fingerprint(key)}" in reasons


def test_digest_moved(tree):
    # a digest copied over another's name names its own key: it has been moved
    a, b = tree["digests"][2], tree["digests"][3]
    shutil.copy(a["path"], b["path"])
    code, rep, err = vjson(tree["root"])
    assert code == 1
    reasons = [r["reason"] for r in results(rep, "digest", "invalid")]
    assert "has been moved from its original location" in reasons


def test_malformed_digest_named(tree):
    d = tree["digests"][3]

    def drop(b):
        doc = json.loads(b)
        del doc["digestEndTime"]
        return json.dumps(doc).encode()
    rewrite_gz(d["path"], drop)
    code, rep, err = vjson(tree["root"])
    assert code == 1
    [bad] = [r for r in results(rep, "digest", "invalid") if r["path"] == d["path"]]
    assert bad["reason"] == "invalid format: digestEndTime is missing"
    open(tree["digests"][0]["path"], "wb").write(gzip.compress(b'{"digestStartTime": [1,'))
    code, rep, err = vjson(tree["root"])
    bad = [r for r in results(rep, "digest", "invalid") if r["path"] == tree["digests"][0]["path"]]
    assert len(bad) == 1 and bad[0]["reason"].startswith("invalid format: ")


def test_unreadable_input(tree):
    code, out, err = validate(tree["root"], os.path.join(tree["root"], "no-such-dir"))
    assert code == 2
    assert "no-such-dir\tUNREADABLE: " in out


def test_prefix_bucket_root_and_flat(tmp_path, key):
    root = str(tmp_path / "b")
    gen.make_tree(root, key, prefix="org/trail-logs")
    code, rep, err = vjson("--bucket-root", root, root)
    assert code == 0, rep
    assert summary(rep) == (4, 0, 12, 0, 0, 0, 0)
    code, rep, err = vjson(root)
    assert code == 0, rep
    # a flat copy (aws s3 cp of single objects): found by base name, digests by content
    flat = tmp_path / "flat"
    flat.mkdir()
    for dp, _, fs in os.walk(root):
        for f in fs:
            shutil.copy(os.path.join(dp, f), flat / f)
    code, rep, err = vjson(str(flat))
    assert code == 0, rep
    assert summary(rep) == (4, 0, 12, 0, 0, 0, 0)


def test_content_detection_and_two_chains(tmp_path, key):
    root = str(tmp_path / "b")
    gen.make_tree(root, key, hours=2)
    gen.make_tree(root, key, hours=3, region="eu-west-1")
    # a digest under a name that says nothing is still found by its content
    info = gen.make_tree(str(tmp_path / "c"), key, hours=1, region="ap-south-1")
    odd = os.path.join(root, "AWSLogs", "renamed.bin")
    shutil.copy(info["digests"][0]["path"], odd)
    code, rep, err = vjson(root)
    assert rep["summary"]["chains"] == 3
    [moved] = results(rep, "digest", "invalid")
    assert (moved["path"], moved["reason"]) == (odd, "has been moved from its original location")
    assert summary(rep)[:2] == (5, 1)


def test_escaping(tree):
    d = os.path.dirname(tree["logs"][0]["path"])
    evil = os.path.join(d, "123456789012_CloudTrail_us-east-1_20240731T1050Z_\x1b[31mX.json.gz")
    open(evil, "wb").write(gzip.compress(b"{}"))
    code, out, err = validate(tree["root"])
    assert code == 1
    assert "\x1b" not in out
    assert "_\\x1b[31mX.json.gz\tEXTRA: " in out
    code, out, err = validate("--format", "json", tree["root"])
    assert "\x1b" not in out and "\\u001B[31mX" in out


def test_usage():
    assert validate()[0] == 64
    assert validate("--format", "xml", ".")[0] == 64
    code, out, err = validate("--public-key", "/nonexistent.pem", ".")
    assert code == 64 and "--public-key" in err
    code, out, err = validate("--help")
    assert code == 0 and "validate-digests" in out


def test_no_digest_found(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here\n")
    code, out, err = validate(str(tmp_path))
    assert code == 1
    assert "No digest files found" in out
