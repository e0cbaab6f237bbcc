"""`castellan detect` with its built-in rule pack and correlations, through the binary.

Every built-in rule file fires exactly as expect.json says on its positive fixture and never on
its negative one (tests/fixtures/detect/builtin/, written by make_builtin_fixtures.py); the
pack lints clean; DC-3 (LLMjacking sequence on Stratus's Bedrock log), DC-4 (the GPU rule's
outcome is failure), DC-2 on Stratus with the pack; Castellan's audit log read as JSON lines,
castellan log show output and segment files, with the mapping (DC-8); thresholds, time
filters, --out, and a synthetic SageMaker attack inside benign noise.
"""
import json
import os
import random
import subprocess

import pytest

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
SRC = os.environ.get("CST_SOURCE_DIR", ".")
FIX = os.path.join(SRC, "tests", "fixtures", "detect", "builtin")
BUILTIN = os.path.join(SRC, "rules", "builtin")
CT = os.path.join(SRC, "..", "shared", "data", "cloudtrail")
BOTOCORE = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/botocore/data"


def detect(*args, timeout=300):
    p = subprocess.run([CASTELLAN, "detect", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    code, out, err = detect("--format", "json", *args)
    return code, json.loads(out), err


def of_file(rep, name):
    return [f for f in rep["findings"] if f["rule"]["file"] == "builtin/" + name + ".yml"]


RULE_FILES = sorted(f[:-4] for f in os.listdir(BUILTIN) if f.endswith(".yml"))


def test_every_rule_has_fixtures_and_attack_tags():
    assert len(RULE_FILES) >= 20
    assert sorted(os.listdir(FIX)) == RULE_FILES
    for name in RULE_FILES:
        text = open(os.path.join(BUILTIN, name + ".yml")).read()
        assert "- attack.t" in text, name


@pytest.mark.parametrize("name", RULE_FILES)
def test_builtin_rule_fixtures(name):
    want = json.load(open(os.path.join(FIX, name, "expect.json")))["positive"]
    code, rep, err = run_json(os.path.join(FIX, name, "positive.json"))
    assert code == 1, err
    assert len(of_file(rep, name)) == want, [f["rule"]["title"] for f in rep["findings"]]
    code, rep, err = run_json(os.path.join(FIX, name, "negative.json"))
    assert code in (0, 1), err
    assert of_file(rep, name) == []


def test_lint_builtin_clean():
    code, out, err = detect("lint", "--builtin")
    assert code == 0, out + err
    assert out.splitlines()[-1].endswith("in 26 rule(s); 0 rule(s) could not be loaded")
    code, out, err = detect("lint", BUILTIN)
    assert code == 0, out + err


@pytest.mark.skipif(not os.path.isdir(BOTOCORE), reason="no botocore API models on this machine")
def test_lint_builtin_against_api_models():
    code, out, err = detect("lint", "--builtin", "--api-models", BOTOCORE, timeout=600)
    assert code == 0, out + err
    assert out.startswith("0 problem(s) in 26 rule(s)")


def test_stratus_llmjacking_and_gpu_outcome():
    code, rep, err = run_json(os.path.join(CT, "stratus", "aws.impact.bedrock-invoke-model.json"))
    seq = of_file(rep, "cst_llmjacking_enablement_then_invoke")
    assert len(seq) == 1     # DC-3: once, same principal, within 5 minutes
    c = seq[0]["correlation"]
    assert seq[0]["rule"]["type"] == "temporal_ordered" and seq[0]["rule"]["level"] == "high"
    assert c["group"] == "userIdentity.arn=arn:aws:sts::494659789341:assumed-role/test-role/cli"
    assert [e["event_name"] for e in c["evidence"]] == ["PutUseCaseForModelAccess", "InvokeModel"]
    assert (c["first"], c["last"]) == ("2024-10-17T20:09:50.000Z", "2024-10-17T20:11:24.000Z")
    enum = of_file(rep, "cst_bedrock_model_enumeration")
    assert len(enum) == 1 and enum[0]["correlation"]["events"] == 11
    # the referenced rules report nothing by themselves (generate is false)
    assert {f["rule"]["type"] for f in rep["findings"]} == {"temporal_ordered", "event_count"}
    code, rep, err = run_json(os.path.join(CT, "stratus",
                                           "aws.execution.ec2-launch-unusual-instances.json"))
    gpu = of_file(rep, "cst_ec2_gpu_instance_launch")
    assert len(gpu) == 1      # DC-4
    assert (gpu[0]["outcome"], gpu[0]["event"]["error_code"]) == \
        ("failure", "Client.UnauthorizedOperation")
    for name in ("cloudtrail-stop", "cloudtrail-delete", "cloudtrail-event-selectors"):
        code, rep, err = run_json(os.path.join(CT, "stratus", f"aws.defense-evasion.{name}.json"))
        t = of_file(rep, "cst_cloudtrail_logging_tampering")
        assert len(t) == 1 and t[0]["outcome"] == "success", name


def test_threshold_and_time_filters(tmp_path):
    pos = os.path.join(FIX, "cst_bedrock_model_enumeration", "negative.json")  # 9 calls
    code, rep, _ = run_json(pos)
    assert of_file(rep, "cst_bedrock_model_enumeration") == []
    code, rep, _ = run_json("--threshold", "cst_bedrock_model_enumeration_burst=9", pos)
    assert len(of_file(rep, "cst_bedrock_model_enumeration")) == 1
    burst = os.path.join(FIX, "cst_sagemaker_compute_burst", "positive.json")  # 13:00..13:09
    code, rep, _ = run_json("--since", "2024-07-31T13:01:00Z", burst)
    assert rep["summary"]["filtered_out"] == 1 and rep["findings"] == []
    code, rep, _ = run_json("--until", "2024-07-31T13:09:00Z", "--since",
                            "2024-07-31T12:00:00+00:00", burst)
    assert rep["summary"]["filtered_out"] == 0 and len(rep["findings"]) == 1
    out = tmp_path / "report.txt"
    code, stdout, err = detect("--out", str(out), burst)
    assert code == 1 and stdout == ""
    text = out.read_text()
    assert "SageMaker compute created in a burst" in text and "(event_count)" in text
    assert "value=10  events=10  outcome=success (0 failed)" in text


def test_castellan_audit_log_shapes_and_mapping(tmp_path):
    stuffing = [json.loads(l) for l in
                open(os.path.join(FIX, "cst_gw_credential_stuffing", "positive.json"))]
    # castellan log show output: {"index":N,"record":{...}}
    (tmp_path / "show.ndjson").write_text("".join(
        json.dumps({"index": i, "record": r}) + "\n" for i, r in enumerate(stuffing)) +
        json.dumps({"index": 99, "sealed": True}) + "\n")
    code, rep, err = run_json(str(tmp_path / "show.ndjson"))
    assert code == 1, err
    (f,) = of_file(rep, "cst_gw_credential_stuffing")
    assert f["correlation"]["group"] == "sourceIPAddress=198.51.100.9"   # the port is not kept
    assert f["correlation"]["events"] == 20 and f["outcome"] == "failure"
    assert f["event"]["kind"] == "castellan" and f["event"]["error_code"] == "HTTP 401"
    assert [e["index"] for e in f["correlation"]["evidence"]] == list(range(20))
    assert (rep["summary"]["castellan"], rep["summary"]["sealed"]) == (20, 1)
    # a user mapping: CloudTrail-named rule fields over the record's own fields (DC-8)
    (tmp_path / "map.yml").write_text("logsource: {product: gateway}\nfields:\n"
                                      "  userIdentity.arn: actor\n  eventName: action\n")
    (tmp_path / "r.yml").write_text("title: blocked by admin\nlogsource: {product: gateway}\n"
                                    "detection:\n  s:\n    eventName: block\n"
                                    "    userIdentity.arn|startswith: ops\n  condition: s\n")
    (tmp_path / "a.json").write_text(json.dumps({"type": "admin", "time": "2024-01-01T00:00:00Z",
                                                 "actor": "ops-1", "action": "block",
                                                 "target": "mallory", "status": 200}) + "\n")
    code, rep, err = run_json("--no-builtin", "--rules", str(tmp_path / "r.yml"), "--mapping",
                              str(tmp_path / "map.yml"), str(tmp_path / "a.json"))
    assert code == 1 and [f["rule"]["title"] for f in rep["findings"]] == ["blocked by admin"]
    code, rep, err = run_json("--no-builtin", "--rules", str(tmp_path / "r.yml"),
                              str(tmp_path / "a.json"))
    assert code == 0 and rep["findings"] == []     # the built-in mapping is product castellan


def test_castellan_segment_files(tmp_path):
    """A real log written by castellan log append, read from its segment files."""
    key = tmp_path / "k"
    logdir = tmp_path / "log"
    subprocess.run([CASTELLAN, "log", "keygen", "--origin", "detect.test/log", "--out", str(key)],
                   check=True, capture_output=True)
    subprocess.run([CASTELLAN, "log", "init", str(logdir), "--key", str(key)], check=True,
                   capture_output=True)
    recs = [json.loads(l) for l in
            open(os.path.join(FIX, "cst_gw_guardrail_blocks", "positive.json"))]
    p = subprocess.run([CASTELLAN, "log", "append", str(logdir), "--key", str(key)],
                       input="".join(json.dumps(r) + "\n" for r in recs), text=True,
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    code, rep, err = run_json(str(logdir))
    assert code == 1, err
    assert rep["summary"]["segment_files"] == 1 and rep["summary"]["castellan"] == 5
    (f,) = of_file(rep, "cst_gw_guardrail_blocks")
    assert f["correlation"]["group"] == "userIdentity.arn=bob"


def test_sagemaker_attack_in_benign_noise(tmp_path):
    """A synthetic intrusion (stolen role used outside AWS, model packages swept, a lifecycle
    script with a miner, a training-job burst) hidden in 3,000 benign SageMaker calls."""
    rnd = random.Random(7)
    fix = lambda n: json.load(open(os.path.join(FIX, n, "positive.json")))
    attack = (fix("cst_sagemaker_role_used_outside_aws") +
              fix("cst_sagemaker_model_package_sweep") +
              fix("cst_sagemaker_lifecycle_script_ioc")[2:] + fix("cst_sagemaker_compute_burst"))
    noise = []
    for i in range(3000):
        name = rnd.choice(["DescribeEndpoint", "ListTrainingJobs", "DescribeNotebookInstance",
                           "InvokeEndpoint", "ListModels"])
        noise.append({"eventVersion": "1.09", "eventTime": "2024-07-31T%02d:%02d:%02dZ" % (
            10 + i // 3600, i // 60 % 60, i % 60), "eventSource": "sagemaker.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "10.0.0.%d" % (i % 9),
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u%d" % (i % 7)},
            "eventID": "noise-%d" % i, "eventType": "AwsApiCall", "requestParameters": None})
    recs = noise + attack
    rnd.shuffle(recs)
    (tmp_path / "mixed.json").write_text(json.dumps({"Records": recs}))
    code, rep, err = run_json(str(tmp_path / "mixed.json"))
    assert code == 1, err
    got = sorted({f["rule"]["file"] for f in rep["findings"]})
    assert got == ["builtin/cst_sagemaker_compute_burst.yml",
                   "builtin/cst_sagemaker_lifecycle_config_change.yml",
                   "builtin/cst_sagemaker_lifecycle_script_ioc.yml",
                   "builtin/cst_sagemaker_model_package_sweep.yml",
                   "builtin/cst_sagemaker_role_used_outside_aws.yml"]
    ioc = of_file(rep, "cst_sagemaker_lifecycle_script_ioc")
    assert len(ioc) == 1 and "stratum+tcp://pool.supportxmr.com" in ioc[0]["excerpt"]
    assert len(rep["findings"]) == 5
