"""gitleaks rule files in content policies: the gateway's `inspection` and `inspection_policies`
and `castellan inspect --policy` name them (relative to the configuration's or the policy's
directory), redact or block what their rules find, and leave alone what their allowlists
allow (a regex on the secret, on the line, a stopword); an allowlist whose only criterion is
a path never suppresses a finding in a request, nor does an AND allowlist that needs a
commit. Load problems stop `serve` with the file named; refused rules are logged."""
import json
import os
import shutil
import subprocess

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "data", "gitleaks", "rules.toml")
DEFAULT = os.path.join(HERE, "..", "..", "..", "shared", "data", "secrets", "gitleaks",
                       "gitleaks.toml")

KEY = "acme_q7w8e9r1t2y3u4i5o6p7a8s9"          # acme-api-key: found
PLACEHOLDER = "acme_0000r1t2y3u4i5o6p7a8s9"    # global allowlist, regex on the secret
TESTKEY = "acme_testtestr1t2y3u4i5o6p7a8"      # rule allowlist, stopword
COMMITKEY = "acme_k9w8e9r1t2y3u4i5o6p7a8s9"    # AND: regex and a commit: never in a request

POLICY = """inspection:
  input:
    pii: { action: log }
    injection: { enabled: false }
    secrets:
      action: redact
      gitleaks: rules/acme.toml

inspection_policies:
  strict:
    input:
      injection: { enabled: false }
      secrets: { action: block, builtin: false, gitleaks: [rules/acme.toml] }

models:
  - name: demo-model
    upstream: local
  - name: secure-model
    upstream: local
    inspection: strict
"""


def sent_text(stub):
    return json.loads(stub.requests()[-1]["body"])["messages"][0]["content"]


def test_gateway_gitleaks_policy(make_gateway, stub):
    g = make_gateway(extra_config=POLICY, start=False)
    os.makedirs(os.path.join(g.dir, "rules"))
    shutil.copy(RULES, os.path.join(g.dir, "rules", "acme.toml"))
    g.start(timeout=120)
    key = g.apikey(models="demo-model,secure-model")

    # found: redacted before the upstream sees it; the record names the rule, not the value
    status, h, resp, _ = g.chat(key, f"my key is {KEY} ok")
    assert status == 200, resp
    assert sent_text(stub) == "my key is [REDACTED:SECRET] ok"
    rec = g.record(h["x-request-id"])
    assert KEY not in json.dumps(rec)
    d = [x["detail"] for x in rec["decisions"] if x["stage"] == "inspect_in"]
    assert any("acme-api-key secret redact 10-39" in x for x in d), d

    # allowed by an allowlist: the text reaches the upstream unchanged
    for text in (f"placeholder {PLACEHOLDER}", f"test {TESTKEY}",
                 f"Example: {KEY}", f"zeta-AAAA5678901234567890"):
        status, _, resp, _ = g.chat(key, text)
        assert status == 200, (text, resp)
        assert sent_text(stub) == text
    # a path-only allowlist ("docs/") and an AND allowlist needing a commit do not apply
    status, _, _, _ = g.chat(key, f"docs/readme.md says {KEY}")
    assert sent_text(stub) == "docs/readme.md says [REDACTED:SECRET]"
    status, _, _, _ = g.chat(key, f"commit key {COMMITKEY}")
    assert sent_text(stub) == "commit key [REDACTED:SECRET]"
    # the match-target allowlist of zeta-token allows only matches starting zeta-AAAA
    status, _, _, _ = g.chat(key, "zeta-BBBB5678901234567890")
    assert sent_text(stub) == "[REDACTED:SECRET]"

    # the named policy blocks with the same file; its allowlists hold there too
    n = len(stub.requests())
    status, _, resp, _ = g.chat(key, f"my key is {KEY}", model="secure-model")
    assert status == 400 and resp["error"]["type"] == "guardrail_violation", resp
    assert "secret" in resp["error"]["message"]
    assert len(stub.requests()) == n
    status, _, resp, _ = g.chat(key, f"placeholder {PLACEHOLDER}", model="secure-model")
    assert status == 200, resp
    # builtin: false: a built-in secret rule finds nothing in the strict policy
    status, _, resp, _ = g.chat(key, "aws AKIAZ3MSJV4WWNKWW5GQ", model="secure-model")
    assert status == 200, resp


def test_gateway_logs_refused_rules(make_gateway):
    g = make_gateway(extra_config=POLICY.split("\n\n")[0], start=False)
    os.makedirs(os.path.join(g.dir, "rules"))
    shutil.copy(RULES, os.path.join(g.dir, "rules", "acme.toml"))
    g.start(timeout=120)
    proc = g.proc
    g.stop()
    err = proc.stderr.read()
    assert "acme.toml: 2 of 3 gitleaks rules loaded, 1 refused" in err, err
    assert ("warn" in err and "rule only-a-path not used: path-only rule: this engine scans "
            "text, not files") in err, err


def serve_error(g):
    p = subprocess.run([CASTELLAN, "serve", "-c", g.config], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode != 0
    return p.stderr


def test_gateway_gitleaks_errors(make_gateway):
    g = make_gateway(extra_config=POLICY.split("\n\n")[0], start=False)
    # missing file: named, with the configuration's directory
    err = serve_error(g)
    assert "inspection: input.secrets.gitleaks: " + os.path.join(g.dir, "rules/acme.toml") \
        in err and "not found" in err.lower(), err
    # a file that is not TOML: named with the line
    os.makedirs(os.path.join(g.dir, "rules"))
    with open(os.path.join(g.dir, "rules", "acme.toml"), "w") as f:
        f.write("[[rules]]\nid = 'x'\nregex = \n")
    err = serve_error(g)
    assert "rules/acme.toml: line 3" in err, err
    # a global allowlist naming a rule the file lacks
    with open(os.path.join(g.dir, "rules", "acme.toml"), "w") as f:
        f.write("[[allowlists]]\ntargetRules = ['nope']\nstopwords = ['x']\n"
                "[[rules]]\nid = 'x'\nregex = 'x[0-9]+'\n")
    err = serve_error(g)
    assert "rules/acme.toml: global allowlist 1: targetRules names 'nope'" in err, err
    # a wrong shape of the member
    g.edit_config("inspection:\n  input:\n    secrets: { gitleaks: 3 }\n")
    err = serve_error(g)
    assert "secrets.gitleaks: expected a file name" in err, err


def inspect(*args, text=None, cwd=None):
    p = subprocess.run([CASTELLAN, "inspect", *args], input=text, capture_output=True,
                       timeout=600, cwd=cwd)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_inspect_policy_gitleaks(tmp_path):
    shutil.copy(RULES, tmp_path / "acme.toml")
    (tmp_path / "policy.yaml").write_text(
        "input:\n  injection: { enabled: false }\n  secrets:\n    action: redact\n"
        "    gitleaks: acme.toml\n")
    other = tmp_path / "elsewhere"
    other.mkdir()
    text = f"one {KEY}\ntwo {PLACEHOLDER}\nthree {TESTKEY}\nexample: {KEY}\n".encode()
    # run from another directory: the file is found next to the policy
    code, out, err = inspect("--policy", str(tmp_path / "policy.yaml"), "--format", "json",
                             text=text, cwd=str(other))
    assert code == 0, err
    assert "acme.toml: 2 of 3 gitleaks rules loaded, 1 refused" in err
    assert "warning: " in err and "rule only-a-path not used" in err
    rep = json.loads(out)
    got = [(f["rule"], f["start"], f["end"], f["action"]) for f in rep["findings"]]
    assert got == [("acme-api-key", 4, 33, "redact")], got
    assert rep["text"] == (f"one [REDACTED:SECRET]\ntwo {PLACEHOLDER}\nthree {TESTKEY}\n"
                           f"example: {KEY}\n")
    # a missing file is an error naming it (exit 2)
    (tmp_path / "bad.yaml").write_text("input:\n  secrets: { gitleaks: nope.toml }\n")
    code, _, err = inspect("--policy", str(tmp_path / "bad.yaml"), text=b"x")
    assert code == 2 and "input.secrets.gitleaks: " + str(tmp_path / "nope.toml") in err, err


def test_inspect_default_gitleaks_file(tmp_path):
    """The real gitleaks.toml loads in a policy: 221 of 222 rules, pkcs12-file refused; a
    GitHub token is found by its rule, and its global allowlist's stop-values hold."""
    (tmp_path / "policy.yaml").write_text(
        "output:\n  secrets:\n    action: block\n    builtin: false\n"
        f"    gitleaks: {os.path.abspath(DEFAULT)}\n")
    tok = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
    code, out, err = inspect("--policy", str(tmp_path / "policy.yaml"), "--direction",
                             "output", "--format", "json", text=f"token {tok}\n".encode())
    assert "gitleaks.toml: 221 of 222 gitleaks rules loaded, 1 refused" in err, err
    assert "rule pkcs12-file not used: path-only rule" in err
    assert code == 1, (out, err)
    rep = json.loads(out)
    assert [(f["rule"], f["start"], f["end"]) for f in rep["findings"]] == \
        [("github-pat", 6, 46)], rep
    assert tok not in out
