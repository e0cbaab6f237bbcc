"""castellan secrets: files with context (notebook, Kubernetes Secret, CI workflow), git
histories built here (a secret added then removed, one on a branch, one on a tag),
suppressions, malformed inputs, exit codes and output formats. The credentials are fake,
built in the test: an AWS key id shape and a GitHub token with a valid CRC32 checksum."""
import base64
import json
import os
import subprocess
import zlib

from conftest import run

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github_token(body):
    crc, tail = zlib.crc32(body.encode()), ""
    for _ in range(6):
        crc, r = divmod(crc, 62)
        tail = B62[r] + tail
    return "ghp_" + body + tail


AWS = "AKIAZ3MSJV4WWNKWW5GQ"
AWS2 = "AKIAQYLPMN5HFIQR7XYZ"
GHP = github_token("R4nd0mT0kenCharsXYZabc12345678")
GHP2 = github_token("Another0TokenBodyForBranch0001")


def secrets(*args):
    return run("secrets", *args, check=False)


def report(*args):
    p = secrets("--format", "json", *args)
    return p.returncode, json.loads(p.stdout)


def no_secret_printed(p):
    for s in (AWS, AWS2, GHP, GHP2):
        assert s not in p.stdout and s not in p.stderr


def test_files_in_context(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - uses: a/b@v1\n"
        f"        with:\n          token: {GHP}\n")
    creds = base64.b64encode(f"aws_access_key_id={AWS}\n".encode()).decode()
    (tmp_path / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud\n  namespace: ml\n"
        f"data:\n  creds: {creds}\n")
    # the same value as a block scalar on the line below its key: found once, by the context
    # (the engine's own base64 decoding of the raw line finds it too: the same secret)
    (tmp_path / "folded.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud2\n  namespace: ml\n"
        f"data:\n  creds: >-\n    {creds}\n")
    nb = {"cells": [{"cell_type": "code", "source": ["import os\n", "print(1)\n"],
                     "outputs": [{"output_type": "stream", "name": "stdout",
                                  "text": ["key: " + AWS2 + "\n"]}]}],
          "nbformat": 4, "metadata": {}}
    (tmp_path / "train.ipynb").write_text(json.dumps(nb, indent=1))
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" + AWS.encode())
    code, r = report(str(tmp_path))
    assert code == 1, r
    got = {(os.path.relpath(f["path"], tmp_path), f["line"], f["column"], f["rule"], f["context"])
           for f in r["findings"]}
    assert got == {
        (".github/workflows/ci.yml", 8, 18, "secret.github_token",
         "workflow jobs.b.steps[0].with.token"),
        ("secret.yaml", 7, 3, "secret.aws_access_key_id",
         "Secret ml/cloud data.creds (base64-decoded) line 1"),
        ("folded.yaml", 7, 3, "secret.aws_access_key_id",
         "Secret ml/cloud2 data.creds (base64-decoded) line 1"),
        ("train.ipynb", 14, 13, "secret.aws_access_key_id", "notebook cell 1 output 1"),
    }, got
    line14 = (tmp_path / "train.ipynb").read_text().split("\n")[13]
    assert line14[12:16] == "AKIA"
    by_rule = {f["rule"]: f for f in r["findings"]}
    assert by_rule["secret.github_token"]["checksum"] == "valid"
    assert by_rule["secret.github_token"]["severity"] == "critical"
    assert by_rule["secret.github_token"]["preview"] == "ghp_...(40 chars)"
    assert r["stats"]["binary_skipped"] == 1 and r["stats"]["files"] == 4
    assert r["errors"] == [] and r["notes"]
    no_secret_printed(secrets(str(tmp_path)))
    # --fail-on: the token is critical, the AWS key ids high
    assert secrets("--fail-on", "critical", str(tmp_path)).returncode == 1
    (tmp_path / ".github" / "workflows" / "ci.yml").unlink()
    assert secrets("--fail-on", "critical", str(tmp_path)).returncode == 0


def test_suppressions(tmp_path):
    (tmp_path / "a.env").write_text(f"A={AWS} # gitleaks:allow\nB={AWS2}\nC=fine\n")
    (tmp_path / "b.txt").write_text(f"token {GHP}\n")
    (tmp_path / ".castellanignore").write_text(f"# reviewed\n{tmp_path}/a.env:secret.aws_access_key_id:2\n")
    code, r = report(str(tmp_path))
    assert code == 1 and len(r["findings"]) == 1 and r["findings"][0]["path"].endswith("b.txt")
    assert r["stats"]["suppressed"] == 2
    code, r = report("--show-suppressed", str(tmp_path))
    why = sorted((f["line"], f["suppressed"].split(" ")[0]) for f in r["findings"]
                 if f["suppressed"])
    assert why == [(1, "inline"), (2, "fingerprint")]
    (tmp_path / "b.txt").unlink()
    code, r = report(str(tmp_path))
    assert code == 0 and r["findings"] == [] and r["stats"]["suppressed"] == 2


def test_malformed_inputs(tmp_path):
    (tmp_path / "bad.ipynb").write_text('{"cells": [{"source": "x = 1"')
    (tmp_path / "s.yaml").write_text("kind: Secret\nmetadata: {name: s}\ndata:\n  k: '@@@'\n")
    (tmp_path / "helm.yaml").write_text("env: {{ .Values.x }}\n  b: [\n")
    code, r = report(str(tmp_path))
    assert code == 2
    errs = {(os.path.basename(e["path"]), e["level"]) for e in r["errors"]}
    assert errs == {("bad.ipynb", "error"), ("s.yaml", "error"), ("helm.yaml", "warning")}
    msgs = " ".join(e["message"] for e in r["errors"])
    assert "not valid JSON" in msgs and "not valid base64" in msgs
    (tmp_path / "bad.ipynb").unlink()
    (tmp_path / "s.yaml").unlink()
    code, r = report(str(tmp_path))
    assert code == 0 and len(r["errors"]) == 1   # a warning alone: the raw text was scanned


def git(repo, *args, env=None):
    e = dict(os.environ, GIT_AUTHOR_NAME="Alice", GIT_AUTHOR_EMAIL="alice@example.com",
             GIT_COMMITTER_NAME="Alice", GIT_COMMITTER_EMAIL="alice@example.com",
             GIT_AUTHOR_DATE="2024-01-02T03:04:05Z", GIT_COMMITTER_DATE="2024-01-02T03:04:05Z")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=e).stdout.strip()


def commit_all(repo, msg):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)
    return git(repo, "rev-parse", "HEAD")


def test_git_history(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('hi')\n")
    commit_all(repo, "first")
    (repo / "app.py").write_text(f"print('hi')\nKEY = '{AWS}'\n")
    added = commit_all(repo, "add a key")
    (repo / "app.py").write_text("print('hi')\nKEY = os.environ['KEY']\n")
    commit_all(repo, "remove the key")
    (repo / "app.py").write_text("print('hi')\nKEY = os.environ['KEY']\n# moved\n")
    commit_all(repo, "unrelated")
    # a branch that is never merged
    git(repo, "checkout", "-q", "-b", "experiment")
    (repo / "notes.md").write_text(f"# notes\n\n```sh\nexport GH={GHP}\n```\n")
    on_branch = commit_all(repo, "notes")
    # a tag on a detached commit: reachable from the tag only
    git(repo, "checkout", "-q", "--detach", "main")
    (repo / "deploy.yml").write_text(f"env:\n  AWS_ACCESS_KEY_ID: {AWS2}\n")
    tagged = commit_all(repo, "release config")
    git(repo, "tag", "-a", "v1", "-m", "v1")
    git(repo, "checkout", "-q", "main")
    code, r = report("--git", str(repo))
    assert code == 1, r
    got = sorted((f["path"], f["line"], f["rule"], f["commit"]) for f in r["findings"])
    assert got == sorted([
        ("app.py", 2, "secret.aws_access_key_id", added),
        ("notes.md", 4, "secret.github_token", on_branch),
        ("deploy.yml", 2, "secret.aws_access_key_id", tagged),
    ]), got
    f = [x for x in r["findings"] if x["path"] == "app.py"][0]
    assert f["author"] == "Alice <alice@example.com>" and f["date"] == "2024-01-02T03:04:05Z"
    assert f["fingerprint"] == f"{added}:app.py:secret.aws_access_key_id:2"
    assert r["stats"]["commits"] == 6 and r["stats"]["refs"] == 3
    # the removal commit re-adds nothing; copying the key to a second file is a new finding
    (repo / "copy.py").write_text(f"OLD = '{AWS}'\n")
    copied = commit_all(repo, "copy")
    code, r = report("--git", str(repo))
    assert [(f["path"], f["commit"]) for f in r["findings"] if f["path"] == "copy.py"] == \
        [("copy.py", copied)]
    # a fingerprint with its commit suppresses that finding only
    (repo / ".gitleaksignore").write_text(f"{added}:app.py:secret.aws_access_key_id:2\n")
    code, r = report("--git", str(repo), "--show-suppressed")
    sup = [(f["path"], bool(f["suppressed"])) for f in r["findings"]]
    assert ("app.py", True) in sup and ("copy.py", False) in sup
    # text and SARIF never print a secret
    p = secrets("--show-suppressed", "--git", str(repo))
    no_secret_printed(p)
    assert f"commit {added} by Alice <alice@example.com>" in p.stdout
    p = secrets("--format", "sarif", "--git", str(repo))
    no_secret_printed(p)
    sarif = json.loads(p.stdout)
    assert sarif["version"] == "2.1.0"
    res = sarif["runs"][0]["results"]
    assert {x["ruleId"] for x in res} == {"secret.aws_access_key_id", "secret.github_token"}
    assert all(x["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for x in res)


def test_gitleaks_rules_file(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nid = \"corp-token\"\nregex = '''corp_([a-z0-9]{16})'''\n"
                     "keywords = [\"corp_\"]\n")
    (tmp_path / "x.txt").write_text("t = corp_a1b2c3d4e5f6g7h8\n")
    code, r = report("--rules", str(rules), "--no-builtin", str(tmp_path / "x.txt"))
    assert code == 1
    assert [(f["rule"], f["line"], f["column"], f["preview"]) for f in r["findings"]] == \
        [("corp-token", 1, 10, "a1b2...(16 chars)")]
    shared = os.path.join(os.environ.get("CST_SOURCE_DIR", "."), "..", "shared", "data",
                          "secrets", "gitleaks", "gitleaks.toml")
    if os.path.exists(shared):
        (tmp_path / "y.txt").write_text(f"token {GHP}\n")
        code, r = report("--rules", shared, "--no-builtin", str(tmp_path / "y.txt"))
        assert [(f["rule"], f["checksum"]) for f in r["findings"]] == [("github-pat", "valid")]


def test_usage_and_unreadable(tmp_path):
    assert secrets().returncode == 64
    assert secrets("--format", "xml", ".").returncode == 64
    assert secrets("--fail-on", "urgent", ".").returncode == 64
    assert secrets("--git", str(tmp_path), str(tmp_path)).returncode == 64
    assert secrets(str(tmp_path / "missing")).returncode == 2
    assert secrets("--git", str(tmp_path)).returncode == 2       # not a repository
    assert secrets("--rules", str(tmp_path / "none.toml"), str(tmp_path)).returncode == 2
    assert "usage: castellan secrets" in secrets("--help").stdout


def test_two_secrets_in_one_decoded_value(tmp_path):
    """A Kubernetes Secret data value holding two AWS keys (folded or on one line) gives one
    finding for each key, with the decoded key's preview and length, not one finding (the
    second dropped as a duplicate of the first at the value's key) nor the encoded text."""
    env = base64.b64encode(f"AWS_KEY_1={AWS}\nAWS_KEY_2={AWS2}\n".encode()).decode()
    folded = "\n".join("    " + env[i:i + 20] for i in range(0, len(env), 20))
    head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud\ndata:\n"
    (tmp_path / "folded.yaml").write_text(head + "  creds.env: >-\n" + folded + "\n")
    (tmp_path / "oneline.yaml").write_text(head + f"  creds.env: {env}\n")
    code, r = report(str(tmp_path))
    assert code == 1
    got = sorted((os.path.basename(f["path"]), f["preview"], f["context"]) for f in r["findings"])
    assert got == [(name, "AKIA...(20 chars)",
                    f"Secret cloud data.creds.env (base64-decoded) line {n}")
                   for name in ("folded.yaml", "oneline.yaml") for n in (1, 2)], got


def test_unreadable_root_ignore_file(tmp_path):
    """A root .gitleaksignore that is a symbolic link (committed so by anyone) or a
    .castellanignore that is a directory or a FIFO is an error: the scan goes on without it
    and its findings are printed (exit 2), in a directory and in a history."""
    (tmp_path / "a.env").write_text(f"A={AWS}\n")
    (tmp_path / ".gitleaksignore").symlink_to("/etc/hostname")
    (tmp_path / ".castellanignore").mkdir()
    code, r = report(str(tmp_path))
    assert code == 2
    assert [f["path"] for f in r["findings"]] == [f"{tmp_path}/a.env"]
    assert sorted(e["path"] for e in r["errors"]) == [
        f"{tmp_path}/.castellanignore", f"{tmp_path}/.gitleaksignore"], r["errors"]
    assert "cannot read the ignore file (not a regular file)" in r["errors"][0]["message"]
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text(f"KEY = '{AWS}'\n")
    (repo / ".gitleaksignore").symlink_to("/etc/hostname")
    commit_all(repo, "add")
    os.mkfifo(repo / ".castellanignore")
    code, r = report("--git", str(repo))
    assert code == 2
    assert [f["path"] for f in r["findings"]] == ["app.py"]
    assert len(r["errors"]) == 2, r["errors"]


def test_text_output_quotes_control_characters(tmp_path):
    """A file name with a newline or a terminal escape is written quoted with C escapes, as
    git's core.quotePath does: it cannot forge a report line nor drive the terminal."""
    (tmp_path / "a\nerror: forged.env").write_text(f"A={AWS}\n")
    (tmp_path / "b\x1b[2Jc.env").write_text(f"B={AWS2}\n")
    p = secrets(str(tmp_path))
    assert p.returncode == 1
    assert "\x1b" not in p.stdout
    assert not any(l.startswith("error: forged") for l in p.stdout.split("\n")), p.stdout
    assert f'"{tmp_path}/a\\nerror: forged.env":1:3: high' in p.stdout, p.stdout
    assert f'"{tmp_path}/b\\033[2Jc.env":1:3: high' in p.stdout, p.stdout


def test_secret_used_as_a_key_masked_in_context(tmp_path):
    """A secret used as a YAML key is masked in the context label of a finding under it (the
    label names the key): no report prints a secret whole."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text("on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n"
                               f"      - run: echo\n        with:\n          {AWS}: \"{AWS2}\"\n")
    code, r = report(str(tmp_path))
    assert code == 1
    assert "workflow jobs.b.steps[0].with.AKIA...(20 chars)" in [f["context"] for f in r["findings"]], \
        r["findings"]
    no_secret_printed(secrets(str(tmp_path)))
    no_secret_printed(secrets("--format", "json", str(tmp_path)))
