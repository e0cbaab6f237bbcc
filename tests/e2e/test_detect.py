"""`castellan detect`: Sigma rules over the public CloudTrail data sets, through the binary.

The 57 SigmaHQ CloudTrail rules all load; the data sets give their exact record counts
(invictus 2,900 from 55 S3-delivered files, Stratus 310 from 35 JSON arrays, OTRF 103 JSON
lines without eventTime) and irregularity counts; the findings are exactly the 200 rows of
SIGMA_MATCHES.tsv (DC-2's six disable-logging findings with their outcomes among them).
Also: gzip'd S3 trees with duplicates, EventBridge envelopes, bad files and bad rules (exit 2,
findings still reported), order independence, escaping, the linter, and usage errors.
"""
import csv
import gzip
import json
import os
import shutil
import subprocess

import pytest

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
DATA = os.path.join(os.environ.get("CST_SOURCE_DIR", "."), "..", "shared", "data")
CT = os.path.join(DATA, "cloudtrail")
RULES = os.path.join(DATA, "sigma", "cloudtrail")
BOTOCORE = "/usr/lib/google-cloud-sdk/lib/third_party/botocore/data"


def detect(*args, timeout=300):
    p = subprocess.run([CASTELLAN, "detect", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_json(*paths, rules=RULES):
    code, out, err = detect("run", "--no-builtin", "--rules", rules, "--format", "json", *paths)
    return code, json.loads(out), err


def matches(report):
    """(file relative to cloudtrail/, record index, rule file name) of every finding."""
    return sorted((os.path.relpath(f["event"]["file"], CT), f["event"]["index"],
                   os.path.basename(f["rule"]["file"])) for f in report["findings"])


def expected(prefix):
    with open(os.path.join(CT, "SIGMA_MATCHES.tsv")) as f:
        return sorted((r["file"], int(r["record_index"]), r["sigma_rule_file"])
                      for r in csv.DictReader(f, delimiter="\t") if r["file"].startswith(prefix))


def test_rules_all_load():
    code, rep, err = run_json(os.path.join(CT, "otrf"))
    assert rep["summary"]["rules_loaded"] == 57
    assert rep["summary"]["rules_failed"] == 0


def test_invictus():
    code, rep, err = run_json(os.path.join(CT, "invictus"))
    s = rep["summary"]
    assert code == 1, err
    assert (s["records"], s["files_s3_name"], s["files_failed"], s["duplicates"]) == (2900, 55, 0, 0)
    assert (s["no_identity_type"], s["no_identity_arn"]) == (42, 77)
    assert (s["null_request_parameters"], s["null_response_elements"]) == (333, 2573)
    assert s["versioned_event_name"] == 23
    assert s["findings"] == 109
    assert matches(rep) == expected("invictus/")
    # DC-2: the disable-logging rule has no errorCode filter; the outcome tells them apart
    dl = sorted((f["event"]["event_name"], f["event"]["outcome"], f["event"]["error_code"] or "")
                for f in rep["findings"]
                if f["rule"]["file"].endswith("aws_cloudtrail_disable_logging.yml"))
    assert dl == [("DeleteTrail", "failure", "TrailNotFoundException"),
                  ("DeleteTrail", "success", ""), ("DeleteTrail", "success", ""),
                  ("StopLogging", "failure", "TrailNotFoundException")] + \
        [("StopLogging", "failure", "TrailNotFoundException")] * 2
    f = next(f for f in rep["findings"] if f["event"]["event_name"] == "StopLogging")
    assert f["rule"]["level"] == "medium" and f["rule"]["id"]
    assert f["rule"]["attack"] and all("." not in t or t.startswith("t") for t in f["rule"]["attack"])
    assert f["event"]["principal"] and f["event"]["time"].startswith("2023-07-10T")


def test_stratus():
    code, rep, err = run_json(os.path.join(CT, "stratus"))
    s = rep["summary"]
    assert code == 1, err
    assert (s["records"], s["files"], s["files_skipped"], s["files_failed"]) == (310, 37, 2, 0)
    assert (s["odd_region"], s["ip_leading_zero"]) == (310, 107)
    assert s["findings"] == 80
    assert matches(rep) == expected("stratus/")
    # DC-2 on Stratus: StopLogging and DeleteTrail fire once; no SigmaHQ rule covers
    # PutEventSelectors (that needs Castellan's own rule pack, not built yet)
    for name, n in (("cloudtrail-stop", 1), ("cloudtrail-delete", 1),
                    ("cloudtrail-event-selectors", 0)):
        code, one, _ = run_json(os.path.join(CT, "stratus", f"aws.defense-evasion.{name}.json"))
        tampering = [f for f in one["findings"] if "aws_sts_assumerole" not in f["rule"]["file"]]
        assert len(tampering) == n, (name, one["findings"])
        assert all(f["event"]["outcome"] == "success" for f in tampering)


def test_otrf_ndjson_without_event_time():
    code, rep, err = run_json(os.path.join(CT, "otrf"))
    s = rep["summary"]
    assert (s["records"], s["time_fallback"], s["no_time"]) == (103, 103, 0)
    assert matches(rep) == expected("otrf/")
    assert all(f["event"]["time"].startswith("2020-09-14T") for f in rep["findings"])


def test_gzip_s3_tree_duplicates_and_bad_file(tmp_path):
    src = sorted(os.listdir(os.path.join(CT, "invictus", "CloudTrail")))[:10]
    day = tmp_path / "AWSLogs" / "218007301253" / "CloudTrail" / "us-east-1" / "2023" / "07" / "10"
    day.mkdir(parents=True)
    n = 0
    for name in src:
        raw = open(os.path.join(CT, "invictus", "CloudTrail", name), "rb").read()
        n += len(json.loads(raw)["Records"])
        with gzip.open(day / (name + ".gz"), "wb") as f:
            f.write(raw)
    # AWS may deliver a record twice: a second copy of one file under another name
    shutil.copy(day / (src[0] + ".gz"), day / "copy.json.gz")
    dup = len(json.loads(open(os.path.join(CT, "invictus", "CloudTrail", src[0])).read())["Records"])
    code, rep, err = run_json(str(tmp_path))
    s = rep["summary"]
    assert code in (0, 1), err
    assert (s["records"], s["duplicates"], s["files_gzip"], s["files_s3_name"]) == (n, dup, 11, 10)
    want = [(os.path.basename(f), i, r) for f, i, r in expected("invictus/")
            if os.path.basename(f) in src]
    got = [(os.path.basename(f).removesuffix(".gz"), i, r) for f, i, r in matches(rep)]
    assert sorted(got) == sorted(want)
    # a truncated gzip among them: named on stderr, findings still reported, exit 2
    data = open(day / (src[1] + ".gz"), "rb").read()
    open(day / "truncated.json.gz", "wb").write(data[: len(data) // 2])
    code, rep2, err = run_json(str(tmp_path))
    assert code == 2
    assert "truncated.json.gz: truncated gzip data" in err
    assert rep2["summary"]["files_failed"] == 1
    assert matches(rep2) == matches(rep)


def test_eventbridge_and_order_independence(tmp_path):
    recs = json.load(open(os.path.join(CT, "stratus", "aws.defense-evasion.cloudtrail-stop.json")))
    with open(tmp_path / "bridge.ndjson", "w") as f:
        for r in recs:
            f.write(json.dumps({"version": "0", "detail-type": "AWS API Call via CloudTrail",
                                "source": "aws.cloudtrail", "detail": r}) + "\n")
    code, rep, err = run_json(str(tmp_path / "bridge.ndjson"))
    assert rep["summary"]["eventbridge"] == len(recs) == 1
    assert [f["rule"]["title"] for f in rep["findings"]] == ["AWS CloudTrail Important Change"]
    a = os.path.join(CT, "stratus")
    b = os.path.join(CT, "otrf")
    _, out1, _ = detect("--rules", RULES, "--format", "json", a, b)
    _, out2, _ = detect("--rules", RULES, "--format", "json", b, a)
    _, out3, _ = detect("--rules", RULES, "--format", "json", a, b)
    # a rerun reports the same, apart from the run statistics (times, rates, memory)
    assert out1.split('\n "stats"')[0] == out3.split('\n "stats"')[0]
    assert json.loads(out1)["stats"]["records"] == json.loads(out3)["stats"]["records"]
    f1, f2 = json.loads(out1)["findings"], json.loads(out2)["findings"]
    assert [(f["event"]["id"], f["rule"]["id"]) for f in f1] == \
        [(f["event"]["id"], f["rule"]["id"]) for f in f2]
    times = [f["time"] for f in f1]     # a correlation's time is its last event's
    assert times == sorted(times)


def test_bad_rule_named_and_others_run(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "zz_bad.yml").write_text("title: bad\nlogsource: {product: aws}\ndetection:\n"
                                      "  sel:\n    eventName|foo: x\n  condition: sel\n")
    (rules / "zz_legacy.yml").write_text("title: legacy\nlogsource: {product: aws}\ndetection:\n"
                                         "  sel:\n    eventName: x\n  condition: sel | count() > 5\n")
    (rules / "notes.txt").write_text("not a rule")
    code, rep, err = run_json(os.path.join(CT, "stratus"), rules=str(rules))
    assert code == 2
    assert "zz_bad.yml: detection.sel: field eventName|foo: unknown modifier 'foo'" in err
    assert "zz_legacy.yml: detection.condition" in err and "legacy aggregations" in err
    assert "notes.txt" not in err
    assert (rep["summary"]["rules_loaded"], rep["summary"]["rules_failed"]) == (57, 2)
    assert rep["summary"]["findings"] == 80


def test_exit_zero_and_text_escaping(tmp_path):
    rule = os.path.join(RULES, "aws_cloudtrail_bedrock_guardrail_deleted.yml")
    code, out, err = detect("run", "--no-builtin", "--rules", rule, os.path.join(CT, "otrf"))
    assert code == 0, err
    assert out.startswith("0 finding(s); 1 rule(s) loaded, 0 failed\n")
    evil = {"eventID": "e1", "eventTime": "2024-01-01T00:00:00Z",
            "eventSource": "bedrock.amazonaws.com", "eventName": "DeleteGuardrail",
            "userIdentity": {"arn": "arn:aws:iam::1:user/\x1b[31mred\nfake line"}}
    (tmp_path / "evil.json").write_text(json.dumps([evil]))
    code, out, err = detect("run", "--no-builtin", "--rules", rule, str(tmp_path / "evil.json"))
    assert code == 1
    assert "\x1b" not in out and "user/\\x1b[31mred\\x0afake line" in out
    assert "outcome=success" in out


def test_lint(tmp_path):
    code, out, err = detect("lint", RULES)
    assert code == 1, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("aws_iam_backdoor_users_keys.yml: field-path-in-contains: "
                             "detection.filter: userIdentity.arn|contains: "
                             "'responseElements.accessKey.userName' compares with the literal "
                             "text of a field name; |fieldref compares with that field's value")
    assert lines[1] == "1 problem(s) in 57 rule(s); 0 rule(s) could not be loaded"
    sm = tmp_path / "sm.yml"
    sm.write_text("title: sm\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
                  "  sel:\n    eventSource: sagemaker.amazonaws.com\n    eventName:\n"
                  "      - PutModelPackageModelMetrics\n      - UpdateRole\n"
                  "      - CreateTrainingJob\n  condition: sel\n")
    code, out, err = detect("lint", str(sm))
    assert code == 1
    assert "eventName 'PutModelPackageModelMetrics' is not a SageMaker operation" in out
    assert "eventName 'UpdateRole' is an IAM operation (iam.amazonaws.com)" in out
    assert "CreateTrainingJob" not in out
    ok = tmp_path / "ok.yml"
    ok.write_text("title: ok\nlogsource: {product: aws}\ndetection:\n  sel:\n"
                  "    userIdentity.arn|fieldref: requestParameters.userName\n  condition: sel\n")
    assert detect("lint", str(ok))[0] == 0
    (tmp_path / "broken.yml").write_text("title: [\n")
    assert detect("lint", str(tmp_path / "broken.yml"))[0] == 2


@pytest.mark.skipif(not os.path.isdir(BOTOCORE), reason="no botocore API models on this machine")
def test_lint_api_models(tmp_path):
    r = tmp_path / "r.yml"
    r.write_text("title: r\nlogsource: {product: aws}\ndetection:\n  sel:\n"
                 "    eventSource: sagemaker.amazonaws.com\n    eventName:\n"
                 "      - CreateTrainingJob\n      - CreateHyperParameterTuningJob\n"
                 "      - GetModelPackageMetrics\n      - StealAllModels\n"
                 "  lam:\n    eventSource: lambda.amazonaws.com\n"
                 "    eventName: UpdateFunctionCode20150331v2\n  condition: sel or lam\n")
    code, out, err = detect("lint", "--api-models", BOTOCORE, str(r), timeout=600)
    assert code == 1, err
    assert "'StealAllModels' is not an operation of sagemaker.amazonaws.com" in out
    assert "'GetModelPackageMetrics' is not a SageMaker operation" in out
    assert "CreateTrainingJob" not in out and "UpdateFunctionCode" not in out
    assert out.splitlines()[-1].startswith("2 problem(s) in 1 rule(s)")


def test_usage():
    assert detect()[0] == 64
    assert detect("--help")[0] == 0
    assert detect("run", "--help")[0] == 0
    code, _, err = detect("run", "--no-builtin", os.path.join(CT, "otrf"))
    assert code == 64 and "--no-builtin needs --rules" in err
    assert detect("run", "--rules", RULES)[0] == 64
    assert detect("--since", "yesterday", CT)[0] == 64
    assert detect("--threshold", "nope=3", CT)[0] == 64
    assert detect("--threshold", "cst_gw_model_sweep", CT)[0] == 64
    assert detect("run", "--rules", RULES, "--format", "xml", CT)[0] == 64
    assert detect("frobnicate")[0] == 64
    assert detect("lint")[0] == 64
    code, _, err = detect("run", "--rules", RULES, "/nonexistent/logs")
    assert code == 2 and "/nonexistent/logs" in err


def rec_text(i, extra=""):
    """A minimal CloudTrail record as JSON text; extra is appended inside the object."""
    return ('{"eventVersion":"1.08","eventID":"id%d","eventTime":"2024-01-01T00:0%d:00Z",'
            '"eventSource":"x.amazonaws.com","eventName":"X","awsRegion":"us-east-1"%s}'
            % (i, i, extra))


def run_rule(tmp_path, selection, text, name="e.json"):
    """Runs one rule (detection selection `sel` given as YAML flow text) over one file."""
    (tmp_path / "r.yml").write_text("title: t\nid: 11111111-1111-1111-1111-111111111111\n"
                                    "logsource: {product: aws, service: cloudtrail}\n"
                                    "detection:\n  sel: %s\n  condition: sel\n" % selection)
    (tmp_path / name).write_text(text)
    code, out, err = detect("--no-builtin", "--rules", str(tmp_path / "r.yml"), "--format",
                            "json", "-j1", str(tmp_path / name))
    return code, json.loads(out), err


def found(rep):
    return sorted(f["event"]["id"] for f in rep["findings"])


def test_one_bad_record_loses_only_itself(tmp_path):
    # an integer past 2^63 or a duplicate key: jansson refuses the document; only that record
    for bad in (',"x":18446744073709551615', ',"eventName":"X"'):
        text = '{"Records":[%s,%s,%s]}' % (rec_text(1), rec_text(2, bad), rec_text(3))
        code, rep, err = run_rule(tmp_path, "{eventName: X}", text)
        assert code == 2 and found(rep) == ["id1", "id3"], err
        assert rep["summary"]["rejected"] == 1 and rep["summary"]["files_failed"] == 0
        assert "1 record(s) rejected" in err
        code, rep, err = run_rule(tmp_path, "{eventName: X}",
                                  "[%s,\n%s]" % (rec_text(1, bad), rec_text(2)))
        assert found(rep) == ["id2"] and rep["summary"]["rejected"] == 1, err
    # NDJSON whose first line is broken: the other lines are still read
    text = '{"eventName":"Stop\n%s\n%s\n%s\n' % (rec_text(1), rec_text(2), rec_text(3))
    code, rep, err = run_rule(tmp_path, "{eventName: X}", text)
    assert found(rep) == ["id1", "id2", "id3"] and rep["summary"]["rejected"] == 1, err
    # a broken document with no good line still fails as a file
    code, rep, err = run_rule(tmp_path, "{eventName: X}", '{"Records":[%s,\n' % rec_text(1))
    assert code == 2 and rep["summary"]["files_failed"] == 1 and "not valid JSON" in err


def test_ndjson_of_delivery_documents(tmp_path):
    # delivered files joined one a line, mixed with single records: each document's records
    # are read (they were rejected as neither a CloudTrail record nor a Bedrock log), indexed
    # as the records of the file in order
    text = ('{"Records":[%s,%s]}\n%s\n{"Records":[%s]}\n%s\n'
            % (rec_text(1), rec_text(2), rec_text(3), rec_text(4), rec_text(5)))
    code, rep, err = run_rule(tmp_path, "{eventName: X}", text, name="joined.ndjson")
    assert code == 1 and found(rep) == ["id1", "id2", "id3", "id4", "id5"], err
    assert sorted(f["event"]["index"] for f in rep["findings"]) == [0, 1, 2, 3, 4]
    assert rep["summary"]["records"] == 5 and rep["summary"]["rejected"] == 0
