"""`castellan policy`: the evaluator and the linter through the binary.

Every test vector of the preventive policy library (tests/fixtures/iam/vectors/<policy>/*.json,
each a request file with the decision and deciding statements it expects) gives exactly that
decision and those statements, with exit 0 for Allow and 1 for a deny; every library policy has
a denied, an allowed and a missing-key vector and lints clean. Also: policy roles given on the
command line, text and JSON output, malformed or invalid requests and policies (exit 2, with
the file named), the linter's findings and output formats, and usage errors (exit 64).
"""
import glob
import json
import os
import subprocess

import pytest

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
SRC = os.environ.get("CST_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(SRC, "policies", "aws")
FIX = os.path.join(SRC, "tests", "fixtures", "iam")
VECTORS = sorted(glob.glob(os.path.join(FIX, "vectors", "*", "*.json")))
FULL = os.path.join(FIX, "common", "full-aws-access.json")
ALLOW_ALL = os.path.join(FIX, "common", "allow-all.json")


def policy(*args):
    p = subprocess.run([CASTELLAN, "policy", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def statements(report):
    return [f"{s['layer']}{s.get('level', '')}:{s['policy']}#{s['statement']}"
            for s in report["statements"]]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: os.path.relpath(v, FIX))
def test_vector(vector):
    expect = json.load(open(vector))["expect"]
    code, out, err = policy("eval", "--request", vector, "--format", "json")
    rep = json.loads(out)
    assert (rep["decision"], statements(rep)) == (expect["decision"], expect["statements"])
    assert code == (0 if expect["decision"] == "Allow" else 1), err
    assert rep["missing"] == [] and not rep["truncated"]


def test_library_has_every_kind_of_vector():
    names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(LIB, "*.json")))
    assert len(names) == 10
    for name in names:
        cases = [os.path.basename(v) for v in glob.glob(os.path.join(FIX, "vectors", name, "*.json"))]
        decisions = {json.load(open(os.path.join(FIX, "vectors", name, c)))["expect"]["decision"]
                     for c in cases}
        assert decisions == {"Allow", "ExplicitDeny"}, name
        assert any(c.startswith("deny-") for c in cases), name
        assert any(c.startswith("allow-") for c in cases), name
        if name != "bedrock-protect-invocation-logging":  # aws:PrincipalArn is never absent
            assert any(c.startswith("missing-") for c in cases), name


def test_library_lints_clean():
    code, out, err = policy("lint", *sorted(glob.glob(os.path.join(LIB, "*.json"))))
    assert code == 0, out + err
    assert out == "0 finding(s) in 10 file(s); 0 file(s) could not be read\n"


def test_text_output():
    vector = os.path.join(FIX, "vectors", "sagemaker-notebook-no-root", "deny-update-to-root.json")
    code, out, err = policy("eval", "--request", vector)
    assert code == 1
    assert out == ("ExplicitDeny\n"
                   "  Deny  scp level 1: sagemaker-notebook-no-root.json statement 1 "
                   "(Sid DenyNotebookUpdateToRoot)\n")
    vector = os.path.join(FIX, "vectors", "sagemaker-require-vpc", "allow-training-in-vpc.json")
    code, out, err = policy("eval", "--request", vector)
    assert code == 0
    assert out == ("Allow\n"
                   "  Allow scp level 0: full-aws-access.json statement 0 (Sid FullAWSAccess)\n"
                   "  Allow scp level 1: full-aws-access.json statement 0 (Sid FullAWSAccess)\n"
                   "  Allow identity: allow-all.json statement 0 (Sid AllowAll)\n")


REQ = {"principal": "arn:aws:sts::111122223333:assumed-role/ml-dev/alice",
       "action": "sagemaker:CreateTrainingJob",
       "resource": "arn:aws:sagemaker:us-east-1:111122223333:training-job/t1"}


def test_roles_on_the_command_line(tmp_path):
    req = write(tmp_path, "req.json", REQ)
    vpc = os.path.join(LIB, "sagemaker-require-vpc.json")
    # no policy at all: implicit deny, the identity layer lacks an Allow
    code, out, err = policy("eval", "--request", req, "--format", "json")
    rep = json.loads(out)
    assert (code, rep["decision"], rep["missing"]) == (
        1, "ImplicitDeny", [{"layer": "identity", "policy": None}])
    # positional policies are identity policies; each --scp is a level, commas share one
    code, out, err = policy("eval", "--request", req, "--scp", FULL, "--scp", f"{FULL},{vpc}",
                            "--format", "json", ALLOW_ALL)
    rep = json.loads(out)
    assert (code, rep["decision"], statements(rep)) == (
        1, "ExplicitDeny", ["scp1:sagemaker-require-vpc.json#0"])
    # a level without an Allow
    empty = write(tmp_path, "deny-only.json", {"Version": "2012-10-17", "Statement": {
        "Effect": "Deny", "Action": "ec2:*", "Resource": "*"}})
    code, out, err = policy("eval", "--request", req, "--scp", FULL, "--scp", empty,
                            "--identity", ALLOW_ALL, "--format", "json")
    rep = json.loads(out)
    assert (code, rep["decision"], rep["missing"]) == (
        1, "ImplicitDeny", [{"layer": "scp", "level": 1, "policy": "deny-only.json"}])
    code, out, err = policy("eval", "--request", req, "--scp", FULL, "--scp", empty,
                            "--identity", ALLOW_ALL)
    assert (code, out) == (1, "ImplicitDeny\n  no Allow: scp level 1\n")
    # boundary and session policies intersect
    get_only = write(tmp_path, "describe.json", {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"}})
    code, out, err = policy("eval", "--request", req, "--identity", ALLOW_ALL,
                            "--boundary", get_only, "--session", get_only, "--format", "json")
    rep = json.loads(out)
    assert [m["layer"] for m in rep["missing"]] == ["boundary", "session"]
    # a resource policy naming the session allows on its own in the same account
    res = write(tmp_path, "res.json", {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": REQ["principal"]}, "Action": "sagemaker:*",
        "Resource": "*"}})
    code, out, err = policy("eval", "--request", req, "--resource", res, "--format", "json")
    rep = json.loads(out)
    assert (code, rep["decision"], statements(rep), rep["resource_allowed_alone"]) == (
        0, "Allow", ["resource:res.json#0"], True)
    # command-line roles replace the request file's
    vector = os.path.join(FIX, "vectors", "sagemaker-require-vpc", "deny-training-without-vpc.json")
    code, out, err = policy("eval", "--request", vector, "--scp", FULL, "--format", "json")
    rep = json.loads(out)
    assert (code, rep["decision"]) == (0, "Allow")


@pytest.mark.parametrize("doc,where", [
    ("{\"Statement\": [", "policy.json: *"),
    ("[]", "policy.json: a policy must be a JSON object"),
    ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",'
     '"Condition":{"NumericLessThen":{"k:n":"1"}}}}',
     "policy.json: statement 0: unknown condition operator \"NumericLessThen\""),
    ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",'
     '"Principal":"*"}}',
     "policy.json: statement 0: Principal in a policy of layer identity (only resource "
     "policies and RCPs name principals)"),
])
def test_invalid_policy(tmp_path, doc, where):
    req = write(tmp_path, "req.json", REQ)
    pol = write(tmp_path, "policy.json", doc)
    code, out, err = policy("eval", "--request", req, pol)
    assert code == 2 and out == ""
    line = err.strip().replace(str(tmp_path) + "/", "")
    assert line.startswith("castellan policy: ")
    line = line[len("castellan policy: "):]
    assert (line.startswith(where[:-1]) and len(line) > len(where) - 1) if where.endswith("*") \
        else line == where


@pytest.mark.parametrize("doc,msg", [
    ("{", None),
    ({"principal": "arn:aws:iam::111122223333:user/a", "action": "s3:GetObject"},
     "no \"resource\" (an ARN, or \"*\")"),
    (dict(REQ, context={"aws:SourceIp": {"type": "IpAddress", "value": "not-an-ip"}}),
     "context key aws:SourceIp: \"not-an-ip\" is not a valid IpAddress"),
    (dict(REQ, policies={"identity": "does-not-exist.json"}), "does-not-exist.json: *"),
])
def test_invalid_request(tmp_path, doc, msg):
    req = write(tmp_path, "req.json", doc)
    code, out, err = policy("eval", "--request", req)
    assert code == 2 and out == ""
    assert err.startswith("castellan policy: ")
    if msg and not msg.endswith("*"):
        assert err == f"castellan policy: {req}: {msg}\n"
    elif msg:
        assert msg[:-1] in err


RCP_FULL = {"Version": "2012-10-17", "Statement": {  # AWS's RCPFullAWSAccess
    "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}


@pytest.mark.parametrize("stmt,msg", [
    ({"Effect": "Allow", "Action": "*", "Resource": "*"},
     "statement 0: an RCP statement needs \"Principal\": \"*\" (and no other principal)"),
    ({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*",
      "Resource": "*"},
     "statement 0: an RCP statement needs \"Principal\": \"*\" (and no other principal)"),
    ({"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "*", "Resource": "*"},
     "statement 0: NotPrincipal in an RCP (RCPs take only \"Principal\": \"*\")"),
])
def test_rcp_principal(tmp_path, stmt, msg):
    """RCPs use resource-policy syntax: "Principal": "*" is accepted (and required), the
    principal is not matched, and NotPrincipal or a named principal is refused."""
    req = write(tmp_path, "req.json", REQ)
    full = write(tmp_path, "rcp-full.json", RCP_FULL)
    code, out, err = policy("eval", "--request", req, "--rcp", full, "--format", "json",
                            ALLOW_ALL)
    rep = json.loads(out)
    assert (code, rep["decision"], statements(rep)) == (
        0, "Allow", ["rcp0:rcp-full.json#0", "identity:allow-all.json#0"]), err
    bad = write(tmp_path, "rcp-bad.json", {"Version": "2012-10-17", "Statement": stmt})
    code, out, err = policy("eval", "--request", req, "--rcp", bad, ALLOW_ALL)
    assert (code, out, err) == (2, "", f"castellan policy: {bad}: {msg}\n")


def test_rcp_applies_to_service_principals(tmp_path):
    """A confused-deputy RCP denies a service principal acting for another organisation
    (RCPs exempt only the management account's resources)."""
    req = write(tmp_path, "req.json", {
        "principal": {"service": "cloudtrail.amazonaws.com"}, "action": "s3:PutObject",
        "resource": {"arn": "arn:aws:s3:::bkt/AWSLogs/x", "account": "111122223333"},
        "context": {"aws:SourceAccount": "999999999999", "aws:SourceOrgID": "o-other",
                    "aws:PrincipalIsAWSService": True}})
    full = write(tmp_path, "rcp-full.json", RCP_FULL)
    deputy = write(tmp_path, "rcp-deputy.json", {"Version": "2012-10-17", "Statement": {
        "Sid": "RCPEnforceConfusedDeputyProtection", "Effect": "Deny", "Principal": "*",
        "Action": "s3:*", "Resource": "*", "Condition": {
            "StringNotEqualsIfExists": {"aws:SourceOrgID": "o-myorg"},
            "Null": {"aws:SourceAccount": "false"},
            "Bool": {"aws:PrincipalIsAWSService": "true"}}}})
    bucket = write(tmp_path, "bucket.json", {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bkt/*"}})
    code, out, err = policy("eval", "--request", req, "--rcp", f"{full},{deputy}",
                            "--resource", bucket, "--format", "json")
    rep = json.loads(out)
    assert (code, rep["decision"], statements(rep), rep["rcp_exempt"]) == (
        1, "ExplicitDeny", ["rcp0:rcp-deputy.json#0"], False), err
    code, out, err = policy("eval", "--request", req, "--rcp", full, "--resource", bucket)
    assert (code, out) == (0, "Allow\n  Allow rcp level 0: rcp-full.json statement 0\n"
                           "  Allow resource: bucket.json statement 0\n"), err


def test_unreadable_request(tmp_path):
    code, out, err = policy("eval", "--request", str(tmp_path / "nope.json"))
    assert code == 2
    assert err == f"castellan policy: {tmp_path / 'nope.json'}: not found\n"


def test_lint_findings(tmp_path):
    bad = write(tmp_path, "bad.json", {"Statement": [
        {"Sid": "Grant", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
         "Condition": {"NumericLessThan": {"s3:max-keys": "ten"},
                       "NullIfExists": {"aws:SourceVpc": "true"},
                       "ForAnyValue:StringEquals": {"sagemaker:RootAccess": "Enabled"},
                       "StringEquals": {"aws:TagKeys": "team"}}},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}]})
    code, out, err = policy("lint", bad)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[-1] == "7 finding(s) in 1 file(s); 0 file(s) could not be read"
    assert [l.split(": ")[1] for l in lines[:-1]] == [
        "IAM-L002 warning missing-version",
        "IAM-L014 warning allow-resource-star statement 0 (Sid Grant)",
        "IAM-L007 error value-type-mismatch statement 0 (Sid Grant)",
        "IAM-L009 error ifexists-on-null statement 0 (Sid Grant)",
        "IAM-L011 warning set-operator-on-single-valued-key statement 0 (Sid Grant)",
        "IAM-L012 warning plain-operator-on-multi-valued-key statement 0 (Sid Grant)",
        "IAM-L015 warning allow-notaction statement 1"]
    code, out, err = policy("lint", "--format", "json", bad)
    rep = json.loads(out)
    assert code == 1
    assert rep["summary"] == {"files": 1, "unreadable": 0, "findings": 7}
    f = rep["findings"][2]
    assert f == {"file": bad, "rule": "IAM-L007", "name": "value-type-mismatch",
                 "severity": "error", "statement": 0, "sid": "Grant",
                 "message": "NumericLessThan on s3:max-keys: \"ten\" is not a number (integer "
                            "or decimal), so it never matches"}
    assert rep["findings"][0]["statement"] is None


def test_lint_invalid_and_unreadable(tmp_path):
    invalid = write(tmp_path, "invalid.json", {"Version": "2012-10-17", "Statement": {"Effect": "Allow"}})
    code, out, err = policy("lint", invalid)
    assert code == 1
    assert out.splitlines()[0] == (f"{invalid}: IAM-L001 error invalid-policy: statement 0: "
                                   "exactly one of Action and NotAction is required")
    garbage = write(tmp_path, "garbage.json", "not json")
    code, out, err = policy("lint", garbage, os.path.join(LIB, "sagemaker-require-vpc.json"))
    assert code == 2
    assert out == "0 finding(s) in 2 file(s); 1 file(s) could not be read\n"
    assert err.startswith(f"castellan policy: {garbage}: ")


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["eval"], ["eval", ALLOW_ALL], ["eval", "--request", "r.json", "--format", "xml"],
    ["eval", "--bogus"], ["lint"], ["lint", "--format", "sarif", "x.json"],
    ["eval", "--request", "r.json", "--resource", "a.json", "--resource", "b.json"],
    ["eval", "--request", "r.json", "--scp", "a.json,"],
])
def test_usage(args):
    code, out, err = policy(*args)
    assert code == 64, (args, out, err)
    assert err


def test_help():
    code, out, err = policy("--help")
    assert code == 0 and "castellan policy eval --request FILE" in out
    code, out, err = policy("eval", "--help")
    assert code == 0 and "Exit status" in out
