"""`castellan detect` incidents (IR-2, IR-3) and the human report (IR-4), through the binary.

tests/fixtures/detect/incident/mixed.json (make_incident_fixtures.py) hides a SageMaker
intrusion (stolen execution-role credentials -> presigned notebook URL -> lifecycle
configuration with a reverse shell attached to the notebook -> StopLogging), a Bedrock
LLMjacking sequence and an unrelated principal with two findings 2.5 hours apart among 2,000
benign calls. The incidents, their facts, answers and containment commands are asserted
exactly; so are the gap boundary, determinism, shell quoting of hostile values and the
escaping of hostile fields in text and Markdown (rendered with cmark-gfm when installed).
"""
import json
import os
import shlex
import shutil
import subprocess

import pytest

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
SRC = os.environ.get("CST_SOURCE_DIR", ".")
FIX = os.path.join(SRC, "tests", "fixtures", "detect")
MIXED = os.path.join(FIX, "incident", "mixed.json")
ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"
CI = "arn:aws:iam::111122223333:user/ci-deployer"
OPS = "arn:aws:iam::111122223333:user/ops"
HOSTILE_UA = "<img src=x onerror=alert(1)> [click](http://evil.example) | col | `tick`"
DENY_ALL = ("'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\","
            "\"Resource\":\"*\"}]}'")


def detect(*args):
    p = subprocess.run([CASTELLAN, "detect", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    code, out, err = detect("--format", "json", *args)
    assert code == 1, err
    return json.loads(out)


def by_principal(rep):
    return {(i["principal"], i["first_seen"]): i for i in rep["incidents"]}


def answer(inc, n):
    return inc["analysis"][n - 1]["answer"]


def commands(inc):
    return [s["command"] for s in inc["containment"]]


def test_incidents_of_the_attack_sequences():
    rep = run_json(MIXED)
    assert len(rep["findings"]) == 16 and rep["summary"]["incidents"] == 4
    assert [(i["principal"], i["first_seen"], i["last_seen"], len(i["findings"]))
            for i in rep["incidents"]] == [
        (OPS, "2024-07-31T09:00:00.000Z", "2024-07-31T09:00:00.000Z", 1),
        (OPS, "2024-07-31T11:30:00.000Z", "2024-07-31T11:30:00.000Z", 1),
        (ROLE, "2024-07-31T13:00:00.000Z", "2024-07-31T13:10:00.000Z", 11),
        (CI, "2024-07-31T15:00:00.000Z", "2024-07-31T15:04:00.000Z", 3)]
    # every finding is in exactly one incident
    assert sorted(f for i in rep["incidents"] for f in i["findings"]) == list(range(16))
    sm = rep["incidents"][2]
    assert sm["id"].startswith("INC-") and len(sm["id"]) == 20 and sm["level"] == "high"
    assert sm["tactics"] == ["credential_access", "defense_evasion", "execution", "persistence"]
    assert sm["techniques"] == ["T1059.004", "T1078.004", "T1496.001", "T1546", "T1552.005",
                                "T1562.008"]
    assert sm["source_ips"] == ["198.51.100.23"] and sm["regions"] == ["eu-west-1"]
    assert sm["access_keys"] == ["ASIAEXAMPLESTOLEN01"] and sm["principals"] == [ROLE]
    assert sm["user_agents"] == [HOSTILE_UA, "aws-cli/2.15.0"]
    assert sm["resources"] == [
        "CloudTrail trail management-trail", "SageMaker lifecycle configuration nb-updater",
        "SageMaker notebook instance research-nb",
        "arn:aws:sagemaker:eu-west-1:111122223333:notebook-instance-lifecycle-config/nb-updater"]
    # IR-3: the timeline links every event to its file, record index and eventID
    tl = sm["timeline"]
    assert [e["event_name"] for e in tl] == [
        "DescribeNotebookInstance", "CreatePresignedNotebookInstanceUrl",
        "CreateNotebookInstanceLifecycleConfig", "StopNotebookInstance",
        "UpdateNotebookInstance", "StartNotebookInstance", "StopLogging"]
    recs = json.load(open(MIXED))["Records"]
    for e in tl:
        assert e["file"] == MIXED and recs[e["index"]]["eventID"] == e["id"]
        assert recs[e["index"]]["eventName"] == e["event_name"]
    lc = tl[2]
    assert [rep["findings"][k]["rule"]["title"] for k in lc["findings"]] == [
        "SageMaker execution role used from outside AWS",
        "SageMaker lifecycle configuration created or changed",
        "SageMaker lifecycle script with a reverse shell, metadata-service access or a miner"]
    assert answer(sm, 1).startswith("CloudTrail trail management-trail, SageMaker lifecycle")
    assert answer(sm, 2) == (
        "Identity type: AssumedRole. Credentials: temporary session credentials (ASIA, from "
        "AssumeRole or a session token). MFA: not used. Sign-in: API calls, no console sign-in "
        "in the evidence. Instance-role credentials delivered by the metadata service. "
        "Credential findings: SageMaker execution role used from outside AWS.")
    assert answer(sm, 4) == ("Possible: CreatePresignedNotebookInstanceUrl on SageMaker "
                             "notebook instance research-nb (succeeded).")
    assert answer(sm, 8) == ("Yes: StopLogging on CloudTrail trail management-trail "
                             "(succeeded).")
    assert answer(sm, 9) == ("No IAM or role change in the evidence. Credentials misused: "
                             "SageMaker execution role used from outside AWS.")
    assert answer(sm, 10) == "No VPC, security-group or network-access change in the evidence."
    assert answer(sm, 11).startswith("Yes: CreatePresignedNotebookInstanceUrl on SageMaker "
                                     "notebook instance research-nb (succeeded); "
                                     "CreateNotebookInstanceLifecycleConfig")
    assert answer(sm, 13) == (
        "Confidentiality: at risk (credential access, collection or exfiltration). Integrity: "
        "at risk (persistence, code execution, evasion or tampering). Availability: at risk "
        "(resource hijacking, deletion or denial of service).")
    assert commands(sm) == [
        "aws iam put-role-policy --role-name AmazonSageMaker-ExecutionRole --policy-name "
        "AWSRevokeOlderSessions --policy-document '{\"Version\":\"2012-10-17\",\"Statement\":"
        "[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
        "{\"DateLessThan\":{\"aws:TokenIssueTime\":\"2024-07-31T13:10:01Z\"}}}]}'",
        "aws sagemaker stop-notebook-instance --region eu-west-1 --notebook-instance-name "
        "research-nb",
        "aws sagemaker describe-notebook-instance-lifecycle-config --region eu-west-1 "
        "--notebook-instance-lifecycle-config-name nb-updater",
        "aws sagemaker delete-notebook-instance-lifecycle-config --region eu-west-1 "
        "--notebook-instance-lifecycle-config-name nb-updater",
        "aws sagemaker update-notebook-instance --region eu-west-1 --notebook-instance-name "
        "research-nb --disassociate-lifecycle-config",
        "aws cloudtrail start-logging --region eu-west-1 --name management-trail"]

    br = rep["incidents"][3]
    assert br["tactics"] == ["defense_evasion", "impact"]
    assert br["techniques"] == ["T1496.004", "T1562.001", "T1562.008"]
    assert br["resources"] == ["Bedrock guardrail gr-prod",
                               "Bedrock model anthropic.claude-3-sonnet-20240229-v1:0"]
    assert answer(br, 2).startswith("Identity type: IAMUser. Credentials: long-term access key "
                                    "(AKIA). MFA: not determinable from these logs.")
    assert answer(br, 8) == "Yes: DeleteModelInvocationLoggingConfiguration (succeeded)."
    assert answer(br, 12) == (
        "Possibly, for resource hijacking (compute or model invocations for the attacker; "
        "T1496): LLMjacking - model access enabled then a model invoked.")
    assert answer(br, 15) == ("Log configuration changeable by this principal (no SCP denying "
                              "it). Long-term access keys in use.")
    assert commands(br) == [
        "aws iam update-access-key --user-name ci-deployer --access-key-id AKIAEXAMPLELEAKED01 "
        "--status Inactive",
        "aws iam put-user-policy --user-name ci-deployer --policy-name "
        "castellan-incident-deny-all --policy-document " + DENY_ALL,
        "aws bedrock get-model-invocation-logging-configuration --region eu-west-1",
        "aws bedrock put-model-invocation-logging-configuration --region eu-west-1 "
        "--logging-config file://invocation-logging.json",
        "aws bedrock list-guardrails --region eu-west-1 --guardrail-identifier gr-prod",
        "aws bedrock create-guardrail --region eu-west-1 --cli-input-json "
        "file://guardrail-definition.json"]
    ops = rep["incidents"][0]
    assert commands(ops)[-1] == ("aws cloudtrail get-event-selectors --region eu-west-1 "
                                 "--trail-name management-trail")


@pytest.mark.parametrize("gap,n", [("9000s", 3), ("150m", 3), ("8999s", 4), ("1h", 4)])
def test_incident_gap_boundary(gap, n):
    rep = run_json("--incident-gap", gap, MIXED)
    assert len(rep["incidents"]) == n
    ops = [i for i in rep["incidents"] if i["principal"] == OPS]
    assert [len(i["findings"]) for i in ops] == ([2] if n == 3 else [1, 1])


def test_bad_gap_is_usage_error():
    code, out, err = detect("--incident-gap", "soon", MIXED)
    assert code == 64 and "--incident-gap: 'soon' is not a duration" in err


def test_incidents_do_not_depend_on_record_order(tmp_path):
    recs = json.load(open(MIXED))["Records"]
    (tmp_path / "a.json").write_text(json.dumps({"Records": recs[::-1]}))
    one = run_json(MIXED)["incidents"]
    two = run_json(str(tmp_path / "a.json"))["incidents"]
    strip = lambda incs: [{k: v for k, v in i.items() if k != "timeline"} for i in incs]
    assert [i["id"] for i in one] == [i["id"] for i in two]
    assert strip(one) == strip(two)
    # the same report but for the run statistics (times, rates, memory)
    def report(out):
        return [x for x in out.splitlines() if "elapsed=" not in x]
    assert report(detect("--format", "markdown", MIXED)[1]) == \
        report(detect("--format", "markdown", MIXED)[1])


def hostile_record(name, i):
    return {"eventVersion": "1.09", "eventTime": "2024-07-31T13:0%d:00Z" % i,
            "eventSource": "sagemaker.amazonaws.com", "eventName": "UpdateNotebookInstance",
            "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.5",
            "userIdentity": {"type": "IAMUser", "accountId": "1",
                             "arn": "arn:aws:iam::1:user/mallory"},
            "requestParameters": {"notebookInstanceName": name, "lifecycleConfigName": "x"},
            "eventID": "hostile-%d" % i}


@pytest.mark.parametrize("name", ["nb'; touch /tmp/pwned; echo '", "$(touch /tmp/pwned)",
                                  "`id`", "a b\"c\\d", "nb&&reboot", "x' \"$HOME\" '"])
def test_commands_quote_hostile_values(tmp_path, name):
    (tmp_path / "h.json").write_text(json.dumps([hostile_record(name, 1)]))
    (inc,) = run_json(str(tmp_path / "h.json"))["incidents"]
    stop = [c for c in commands(inc) if c and "stop-notebook-instance" in c]
    assert len(stop) == 1
    argv = shlex.split(stop[0])
    assert argv == ["aws", "sagemaker", "stop-notebook-instance", "--region", "eu-west-1",
                    "--notebook-instance-name", name]
    # and a real POSIX shell sees the same single argument
    out = subprocess.run(["sh", "-c", "printf '%s\\n' " + stop[0].split(" --notebook-instance-name ")[1]],
                         capture_output=True, text=True).stdout
    assert out == name + "\n"


@pytest.mark.parametrize("name", ["nb\n; reboot", "nb\x1b[31m", "-nb", "nb\u202e"])
def test_commands_refuse_unquotable_values(tmp_path, name):
    (tmp_path / "h.json").write_text(json.dumps([hostile_record(name, 1)]))
    (inc,) = run_json(str(tmp_path / "h.json"))["incidents"]
    notes = [s for s in inc["containment"] if "notebook" in s["why"]]
    assert notes and all(s["command"] is None for s in notes)
    assert all("not generated" in s["why"] for s in notes)
    assert commands(inc)[0].startswith("aws iam put-user-policy --user-name mallory ")


def test_text_report_escapes_and_lists_incidents():
    code, out, err = detect(MIXED)
    assert code == 1, err
    assert "\nIncidents (4)\n" in out and "\x1b" not in out
    assert "Containment (printed, never executed)" in out
    assert ("        aws cloudtrail start-logging --region eu-west-1 --name management-trail\n"
            in out)
    assert "    user agents: " + HOSTILE_UA + ", aws-cli/2.15.0\n" in out
    assert out.rstrip().splitlines()[-3].startswith("16 finding(s); ")


def unescaped_markup(md):
    """Markup characters outside code fences and outside the report's own markup (line
    starts, **labels**) that no backslash escapes."""
    bad, fence = [], False
    for ln in md.splitlines():
        if ln.lstrip().startswith("```"):
            fence = not fence
            continue
        if fence:
            continue
        body = ln.lstrip()
        for mark in ("#### ", "### ", "## ", "# ", "- "):
            if body.startswith(mark):
                body = body[len(mark):]
                break
        if body[:1].isdigit() and ". " in body[:4]:
            body = body.split(". ", 1)[1]
        body = body.replace("**", "")
        for i, c in enumerate(body):
            if c in "<>[]()|*_`!&#":
                k = i
                while k > 0 and body[k - 1] == "\\":
                    k -= 1
                if (i - k) % 2 == 0:
                    bad.append(ln)
                    break
    return bad


def test_markdown_report_escapes_every_field(tmp_path):
    recs = json.load(open(MIXED))["Records"]
    for r in recs:
        if r["eventName"] == "StopLogging":
            r["userAgent"] = "evil\n# Heading\n| a | b |\n<script>alert(1)</script>"
        if r["eventName"] == "DescribeNotebookInstance" and r["sourceIPAddress"] == "198.51.100.23":
            r["requestParameters"]["notebookInstanceName"] = "![img](http://evil/x.png)``` *b*"
    (tmp_path / "m.json").write_text(json.dumps({"Records": recs}))
    code, md, err = detect("--format", "markdown", str(tmp_path / "m.json"))
    assert code == 1, err
    assert md.startswith("# Castellan detection report\n\n## Findings \\(16\\)\n\n- 2024")
    assert "\n## Incidents \\(4\\)\n" in md and "\n### INC\\-" in md
    assert "\n# Heading" not in md and "\n| a |" not in md
    assert unescaped_markup(md) == []
    assert ("\\<img src\\=x onerror\\=alert\\(1\\)\\> \\[click\\]\\(http\\:\\/\\/evil\\.example\\)"
            " \\| col \\| \\`tick\\`") in md
    assert "evil\\\\x0a\\# Heading\\\\x0a\\| a \\| b \\|\\\\x0a\\<script\\>" in md
    assert "\\!\\[img\\]\\(http\\:\\/\\/evil\\/x\\.png\\)\\`\\`\\` \\*b\\*" in md
    assert "```sh\n  aws cloudtrail start-logging --region eu-west-1 --name management-trail\n" in md
    cmark = shutil.which("cmark-gfm")
    if cmark is None:
        pytest.skip("cmark-gfm not installed (scripts/install-deps installs it)")
    html = subprocess.run([cmark, "-e", "table", "-e", "autolink", "-e", "strikethrough",
                           "--unsafe"], input=md, capture_output=True, text=True).stdout
    assert "<img" not in html and "<script" not in html and "<a " not in html
    assert "<table" not in html and "<em>" not in html
    assert html.count("<h1>") == 1 and html.count("<h2>") == 3
    assert "&lt;img src=x onerror=alert(1)&gt; [click](http://evil.example) | col | `tick`" in html
    assert ("<code class=\"language-sh\">aws cloudtrail start-logging --region eu-west-1 "
            "--name management-trail\n</code>") in html


def test_castellan_audit_incidents():
    rep = run_json(os.path.join(FIX, "builtin", "cst_gw_guardrail_blocks", "positive.json"))
    (inc,) = [i for i in rep["incidents"] if i["principal"] == "bob"]
    assert commands(inc) == ["castellan admin block bob"]
    assert inc["source_ips"] == ["198.51.100.9"] and inc["resources"] == ["model llama-3-8b"]
    rep = run_json(os.path.join(FIX, "builtin", "cst_gw_credential_stuffing", "positive.json"))
    (inc,) = rep["incidents"]
    assert inc["principal"] == "source address 198.51.100.9" and inc["principals"] == []
    assert inc["containment"] == [{"why": "The requests were not authenticated: block the "
                                   "source addresses at the network edge", "command": None}]
    assert answer(inc, 2).startswith("Castellan gateway authentication: api_key.")
