"""`castellan detect --format ocsf` and the run statistics, through the binary.

Every line is an OCSF 1.8.0 Detection Finding that validates against
tests/fixtures/detect/ocsf/detection_finding.schema.json (written from the OCSF schema: the
required attributes of base_event/finding/detection_finding, the objects' at_least_one
constraints, types and enum ranges), with the exact finding counts of the public data sets,
finding_info.uid recomputed from the rule id and the sorted evidence eventIDs (OUT-2), severity
from the Sigma level with a correlation's level overriding its rules' (OUT-3), evidence that
points back at its file, record and eventID (IR-3), and identical bytes on a rerun and with the
paths in another order. The statistics (PF-1) agree with the reader's counters, and
--max-correlation-state bounds the correlation state and counts what it drops (PF-3).
"""
import gzip
import hashlib
import json
import os
import subprocess

import jsonschema

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
SRC = os.environ.get("CST_SOURCE_DIR", ".")
CT = os.path.join(SRC, "..", "shared", "data", "cloudtrail")
SIGMA = os.path.join(SRC, "..", "shared", "data", "sigma", "cloudtrail")
SCHEMA = os.path.join(SRC, "tests", "fixtures", "detect", "ocsf", "detection_finding.schema.json")
LEVELS = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
STATS_KEYS = {"files", "bytes_read", "bytes_decompressed", "records", "elapsed_s",
              "records_per_s", "mb_per_s", "peak_rss_bytes", "correlation_state"}


def detect(*args, timeout=300):
    p = subprocess.run([CASTELLAN, "detect", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode()


def ocsf(*args):
    code, out, err = detect("--format", "ocsf", *args)
    assert out.endswith(b"\n") or out == b"", out[-100:]
    return code, [json.loads(line) for line in out.decode("ascii").splitlines()], out, err


def run_json(*args):
    code, out, err = detect("--format", "json", *args)
    return code, json.loads(out), err


VALIDATOR = jsonschema.Draft202012Validator(json.load(open(SCHEMA)),
                                            format_checker=jsonschema.FormatChecker())


def check_finding(f):
    """The schema, plus what a JSON schema cannot say."""
    errors = sorted(VALIDATOR.iter_errors(f), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert f["type_uid"] == f["class_uid"] * 100 + f["activity_id"] == 200401
    fi = f["finding_info"]
    ids = sorted(e["data"]["event_uid"] if "event_uid" in e["data"]
                 else f'{e["data"]["file"]}:{e["data"]["index"]}' for e in f["evidences"])
    text = fi["analytic"]["uid"].encode() + b"".join(b"\0" + i.encode() for i in ids)
    assert fi["uid"] == hashlib.sha256(text).hexdigest()
    level = f["unmapped"]["sigma"].get("level")
    assert f["severity_id"] == LEVELS.get(level, 0)
    assert f["severity"] == ["Unknown", "Informational", "Low", "Medium", "High",
                             "Critical"][f["severity_id"]]
    assert fi["first_seen_time"] <= fi["last_seen_time"] == f["time"]
    assert len(f["evidences"]) == f["unmapped"]["evidence_kept"] >= 1
    assert fi["related_events_count"] == f["unmapped"]["events"] >= len(f["evidences"])
    assert [e["data"]["time"] for e in f["evidences"]] == \
        sorted(e["data"]["time"] for e in f["evidences"])


def where(f):
    """(file, index, rule file) of a finding's first evidence event."""
    d = f["evidences"][0]["data"]
    return d["file"], d["index"], f["unmapped"]["sigma"]["file"]


def test_sigmahq_counts_schema_and_evidence():
    for sub, n in (("invictus", 109), ("stratus", 80), ("otrf", None)):
        path = os.path.join(CT, sub)
        code, lines, _, err = ocsf("--no-builtin", "--rules", SIGMA, path)
        _, rep, _ = run_json("--no-builtin", "--rules", SIGMA, path)
        assert code == 1, err
        assert len(lines) == len(rep["findings"]) == (n if n else len(rep["findings"]))
        assert len(lines) > 0
        for f in lines:
            check_finding(f)
        assert sorted(where(f) for f in lines) == \
            sorted((f["event"]["file"], f["event"]["index"], f["rule"]["file"])
                   for f in rep["findings"])
        assert len({f["finding_info"]["uid"] for f in lines}) == len(lines)
        # the summary and statistics go to stderr, never into the stream
        assert f"castellan detect: {len(lines)} finding(s); stats: files=" in err
    # DC-2 in OCSF: the disable-logging rule's six findings keep their outcome
    _, lines, _, _ = ocsf("--no-builtin", "--rules",
                          os.path.join(SIGMA, "aws_cloudtrail_disable_logging.yml"),
                          os.path.join(CT, "invictus"))
    got = sorted((f["evidences"][0]["api"]["operation"],
                  f["evidences"][0]["api"].get("response", {}).get("error", ""),
                  f["unmapped"]["outcome"]) for f in lines)
    assert got == [("DeleteTrail", "", "success")] * 2 + \
        [("DeleteTrail", "TrailNotFoundException", "failure")] + \
        [("StopLogging", "TrailNotFoundException", "failure")] * 3
    f = lines[0]
    assert f["severity_id"] == 3 and f["unmapped"]["sigma"]["level"] == "medium"
    assert f["finding_info"]["analytic"] == {"uid": "4db60cc0-36fb-42b7-9b58-a5b53019fb74",
                                             "name": "AWS CloudTrail Important Change",
                                             "type_id": 1, "type": "Rule"}
    assert f["finding_info"]["attacks"] == [
        {"tactic": {"uid": "TA0112", "name": "Defense Impairment"},
         "technique": {"uid": "T1685"}, "sub_technique": {"uid": "T1685.002"}}]
    ev = f["evidences"][0]
    assert f["cloud"] == {"provider": "AWS", "region": "us-east-1",
                          "account": {"uid": ev["data"]["account_uid"]}}
    assert ev["uid"] == ev["data"]["event_uid"] and ev["api"]["request"]["uid"]
    assert ev["api"]["service"]["name"] == "cloudtrail.amazonaws.com"
    assert ev["actor"]["user"]["uid"].startswith("arn:aws:")
    assert ev["data"]["file"].startswith(os.path.join(CT, "invictus"))


def test_builtin_pack_correlation_severity_and_sources():
    path = os.path.join(CT, "stratus")
    code, lines, _, err = ocsf(path)
    assert code == 1, err
    assert len(lines) == 6
    for f in lines:
        check_finding(f)
    # DC-3: the LLMjacking temporal_ordered correlation; its level (high) overrides the
    # levels of its rules (low, informational)
    corr = [f for f in lines if f["finding_info"]["types"] == ["Sigma temporal_ordered correlation"]]
    assert len(corr) == 1
    c = corr[0]
    assert c["severity_id"] == 4 and c["unmapped"]["sigma"]["level"] == "high"
    assert c["unmapped"]["events"] == len(c["evidences"]) > 1
    assert c["finding_info"]["first_seen_time"] < c["finding_info"]["last_seen_time"]
    assert c["finding_info"]["data_sources"] == ["AWS CloudTrail"]
    ops = [e["api"]["operation"] for e in c["evidences"]]
    assert ops[-1] == "InvokeModel" and "InvokeModel" not in ops[:-1]
    # anonymised Stratus addresses have leading zeros: not an ip, kept as a name
    eps = [e["src_endpoint"] for f in lines for e in f["evidences"] if "src_endpoint" in e]
    assert eps and all("ip" not in ep for ep in eps if ep.get("name", "").startswith("0"))


def test_rerun_and_path_order_give_identical_bytes(tmp_path):
    a, b = os.path.join(CT, "stratus"), os.path.join(CT, "otrf")
    _, _, out1, _ = ocsf("--rules", SIGMA, a, b)
    _, _, out2, _ = ocsf("--rules", SIGMA, a, b)
    _, _, out3, _ = ocsf("--rules", SIGMA, b, a)
    assert out1 == out2 == out3 and out1.count(b"\n") > 80
    _, _, out4, _ = ocsf("--rules", SIGMA, "--out", str(tmp_path / "f.ndjson"), a, b)
    assert out4 == b"" and (tmp_path / "f.ndjson").read_bytes() == out1


def test_stats_agree_with_the_reader(tmp_path):
    # gzip'd copies: compressed bytes read, decompressed bytes matched
    src = os.path.join(CT, "invictus", "CloudTrail")
    names = sorted(os.listdir(src))[:5]
    logs = tmp_path / "logs"
    logs.mkdir()
    raw = 0
    for n in names:
        data = open(os.path.join(src, n), "rb").read()
        raw += len(data)
        with gzip.open(logs / (n + ".gz"), "wb") as f:
            f.write(data)
    st = tmp_path / "stats.json"
    code, rep, err = run_json("--stats", str(st), str(logs))
    assert code in (0, 1), err
    s, sm = rep["stats"], rep["summary"]
    assert set(s) == STATS_KEYS
    assert (s["files"], s["records"], s["bytes_read"], s["bytes_decompressed"]) == \
        (sm["files"], sm["records"], sm["bytes_read"], sm["bytes_json"])
    assert s["files"] == 5 and s["bytes_decompressed"] == raw > s["bytes_read"] > 0
    assert s["elapsed_s"] > 0 and s["peak_rss_bytes"] > 1 << 20
    assert abs(s["records_per_s"] - s["records"] / s["elapsed_s"]) <= 0.01 * s["records_per_s"] + 1
    assert abs(s["mb_per_s"] - raw / 1e6 / s["elapsed_s"]) <= 0.01 * s["mb_per_s"] + 0.01
    assert s["correlation_state"] == {"cap": 100000, "kept": sm["correlation_matches"],
                                      "peak": sm["correlation_matches"], "evicted": 0}
    written = json.load(open(st))
    assert set(written) == STATS_KEYS
    assert {k: written[k] for k in ("files", "records", "bytes_read", "bytes_decompressed")} == \
        {k: s[k] for k in ("files", "records", "bytes_read", "bytes_decompressed")}
    # the text report ends with the same figures
    code, out, err = detect(str(logs))
    last = out.decode().splitlines()[-1]
    assert last.startswith(f"stats: files=5 bytes_read={s['bytes_read']} "
                           f"bytes_decompressed={raw} records={s['records']} elapsed=")
    assert " records/s=" in last and " MB/s=" in last and " peak_rss=" in last
    # an unwritable --stats path is named (exit 1, as for an unwritable report)
    code, _, err = detect("--stats", str(tmp_path / "no" / "dir" / "s.json"), str(logs))
    assert code == 1 and "castellan detect: --stats " in err


BURST_RULES = """title: call x
name: call_x
id: 00000000-0000-4000-8000-0000000000aa
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: X}
  condition: sel
level: low
---
title: burst of x
id: 00000000-0000-4000-8000-0000000000bb
correlation:
  type: event_count
  rules: [call_x]
  group-by: [userIdentity.arn]
  timespan: 1m
  condition: {gte: 3}
"""


def burst_events(reverse=False):
    """100 calls of X ten minutes apart, then 3 within 20 s: one burst."""
    secs = [i * 600 for i in range(100)] + [60000, 60010, 60020]
    recs = [{"eventID": f"e{i:03d}", "eventTime": f"2024-01-01T{s // 3600:02d}:"
             f"{s // 60 % 60:02d}:{s % 60:02d}Z", "eventSource": "x.amazonaws.com",
             "eventName": "X", "awsRegion": "us-east-1",
             "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u"}}
            for i, s in enumerate(secs)]
    return list(reversed(recs)) if reverse else recs


def test_max_correlation_state(tmp_path):
    (tmp_path / "r.yml").write_text(BURST_RULES)
    (tmp_path / "fwd.json").write_text(json.dumps(burst_events()))
    (tmp_path / "rev.json").write_text(json.dumps(burst_events(True)))
    rules = ("--no-builtin", "--rules", str(tmp_path / "r.yml"))

    def run(cap, name):
        code, rep, err = run_json(*rules, "--max-correlation-state", str(cap),
                                  str(tmp_path / name))
        return rep["stats"]["correlation_state"], rep["findings"], err

    # no cap: everything kept; the burst's correlation fires once, with no level of its own
    # it takes its rule's (low)
    st, fs, err = run(0, "fwd.json")
    assert st == {"cap": 0, "kept": 103, "peak": 103, "evicted": 0}
    assert [f["rule"]["title"] for f in fs] == ["burst of x"]
    _, lines, _, _ = ocsf(*rules, str(tmp_path / "fwd.json"))
    assert len(lines) == 1 and lines[0]["severity_id"] == 2
    assert lines[0]["unmapped"]["events"] == 3 and lines[0]["unmapped"]["value"] == 3
    check_finding(lines[0])
    # cap 10 in time order: each time an 11th is kept, the ten older than the latest time
    # minus the timespan go; the burst still fires
    st, fs, err = run(10, "fwd.json")
    assert st == {"cap": 10, "kept": 103, "peak": 10, "evicted": 100}
    assert [f["rule"]["title"] for f in fs] == ["burst of x"]
    assert "100 match(es) dropped" in err
    # newest first: the old calls are behind the horizon as they come, and go eight at a time
    # (the burst's three stay); the burst still fires
    st, fs, err = run(10, "rev.json")
    assert st == {"cap": 10, "kept": 103, "peak": 10, "evicted": 96}
    assert [f["rule"]["title"] for f in fs] == ["burst of x"]
    # cap 2: the oldest are dropped even inside the window, and the burst is lost (counted)
    st, fs, err = run(2, "fwd.json")
    assert st["peak"] <= 2 and st["evicted"] == 101 and fs == []
    assert "correlations may have missed windows" in err
    assert detect("--max-correlation-state", "lots", str(tmp_path))[0] == 64


def test_usage_and_ocsf_escaping(tmp_path):
    assert detect("--format", "sarif", CT)[0] == 64
    evil = {"eventID": "e\u00e91", "eventTime": "2024-01-01T00:00:00Z",
            "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
            "sourceIPAddress": "10.0.0.1", "userAgent": "a\x1b[31m\nb",
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}}
    (tmp_path / "evil.json").write_text(json.dumps([evil]))
    code, lines, out, err = ocsf(str(tmp_path / "evil.json"))
    assert code == 1 and len(lines) == 1
    assert b"\x1b" not in out and b"\\u001B" in out and b"\\u00E9" in out
    f = lines[0]
    check_finding(f)
    ev = f["evidences"][0]
    assert ev["uid"] == "e\u00e91" and ev["http_request"]["user_agent"] == "a\x1b[31m\nb"
    assert ev["src_endpoint"] == {"ip": "10.0.0.1"}
    assert ev["actor"]["user"]["type_id"] == 2 and ev["actor"]["user"]["type"] == "Root"
    assert "api" in ev and "request" not in ev["api"]     # no requestID: no request object


def test_schema_check_refuses_broken_findings(tmp_path):
    """The check above can fail: each of these breaks one rule of OCSF."""
    _, lines, _, _ = ocsf(os.path.join(CT, "stratus", "aws.defense-evasion.cloudtrail-stop.json"))
    good = lines[0]
    check_finding(good)
    breaks = [
        lambda f: f["metadata"].pop("version"),
        lambda f: f["finding_info"].pop("uid"),
        lambda f: f["finding_info"].pop("title"),
        lambda f: f.update(class_uid=2003),
        lambda f: f.update(category_uid=1),
        lambda f: f.update(time="2024-07-31T13:00:00Z"),
        lambda f: f.update(severity_id=7),
        lambda f: f["evidences"].append({}),
        lambda f: f["finding_info"].update(attacks=[{}]),
        lambda f: f["finding_info"].update(attacks=[{"technique": {"uid": "T1562.008"}}]),
        lambda f: f["evidences"][0].update(src_endpoint={"ip": "035.249.253.232"}),
        lambda f: f["evidences"][0]["api"].pop("operation"),
        lambda f: f["evidences"][0]["actor"]["user"].update(color="red"),
        lambda f: f["finding_info"]["analytic"].pop("type_id"),
        lambda f: f["metadata"]["product"].pop("name"),
        lambda f: f.update(severity_id=2),          # not the rule's level
        lambda f: f["finding_info"].update(uid="0" * 64),  # not the hash of its evidence
    ]
    for i, brk in enumerate(breaks):
        bad = json.loads(json.dumps(good))
        brk(bad)
        try:
            check_finding(bad)
        except AssertionError:
            continue
        raise AssertionError(f"break {i} was not caught")
