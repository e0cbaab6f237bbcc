"""Black-box regression tests for the hardening batch: invocation records that stay valid JSON,
redaction at word starts only, harmless extraction parameters, key limits and principal names
on the CLI, token lifetimes near a key's expiry, admin error replies, listener ports, the file
modes `castellan init` leaves, and configuration defaults that follow a lowered maximum.
Each test fails on the code before the fix it covers."""
import base64
import json
import os
import sqlite3
import stat
import subprocess
import time

from conftest import run

# `defaults` without a token budget, so large prompts are admitted (tpm 0 = unlimited).
NO_TPM = "defaults:\n  rpm: 0\n  tpm: 0\n  concurrency: 8\n"


def records_strict(g):
    """Every record of the audit log, each parsed strictly (valid UTF-8, valid JSON)."""
    return g.records()


def wait_record(g, request_id, timeout=5):
    deadline = time.time() + timeout
    while True:
        recs = [r for r in records_strict(g) if r.get("request_id") == request_id]
        if recs or time.time() > deadline:
            assert len(recs) == 1, f"expected one record for {request_id}, got {len(recs)}"
            return recs[0]
        time.sleep(0.05)


def config_error(g):
    """Loads g's configuration through the CLI; returns (exit code, stderr)."""
    p = run("apikey", "list", "-c", g.config, check=False)
    return p.returncode, p.stderr


def set_config(g, old, new):
    text = open(g.config).read()
    assert old in text, old
    open(g.config, "w").write(text.replace(old, new))


# ---- 1. records.content: full never writes an invalid record -------------------------------

def test_full_content_record_stays_valid_json(make_gateway, stub):
    g = make_gateway("records:\n  content: full\n\n"
                     "limits:\n  body_bytes: 4194304\n\n" + NO_TPM)
    key = g.apikey()
    ids = []
    # ASCII, and 2-byte UTF-8 at both parities, so a cut can land inside a character.
    for content in ["x" * 700_000, "\u00e9" * 350_000, "a" + "\u00e9" * 350_000]:
        status, h, _, _ = g.chat(key, content=content)
        assert status == 200
        ids.append(h["x-request-id"])
    status, h, _, _ = g.chat(key, content="small")
    assert status == 200
    small = h["x-request-id"]
    sent = [r["body"] for r in stub.requests()]
    for i, rid in enumerate(ids):
        rec = wait_record(g, rid)
        assert rec["request_content_truncated"] is True
        assert rec["request_content_bytes"] == len(sent[i].encode())
        # a prefix of what went upstream, as long as the record allows
        assert sent[i].startswith(rec["request_content"])
        assert len(rec["request_content"].encode()) > 400_000
        assert rec["response_content"]  # the small response still fits beside it
    rec = wait_record(g, small)
    assert "request_content_truncated" not in rec and '"small"' in rec["request_content"]
    # every record parses, and none is longer than the record limit
    recs = records_strict(g)
    assert all(len(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode()) <= 512 * 1024 for r in recs)
    assert len([r for r in recs if r["type"] == "invocation"]) == 4


# ---- 2. redacted mode masks credential prefixes only at a word start -------------------------

def test_redaction_only_at_word_start(make_gateway):
    g = make_gateway("records:\n  content: redacted\n")
    key = g.apikey()
    text = ("task-force desk-top risk-free: my key sk-abc123def, cst_secretvalue and "
            "eyJhbGciOiJIUzI1NiJ9.x and card 4111222233334444 but not 123")
    status, h, _, _ = g.chat(key, content=text)
    assert status == 200
    content = wait_record(g, h["x-request-id"])["request_content"]
    for kept in ["task-force", "desk-top", "risk-free", "my key ", " 123"]:
        assert kept in content, kept
    for secret in ["sk-abc", "abc123def", "cst_secret", "secretvalue", "eyJhbG", "4111"]:
        assert secret not in content, secret
    assert "*" * len("sk-abc123def,") in content
    assert "#" * 16 in content


# ---- 3. harmless extraction parameters ------------------------------------------------------

HARMLESS = {"logprobs": False, "top_logprobs": 0, "logit_bias": {}, "n": 1}


def test_harmless_extraction_values_pass_reject(make_gateway, stub):
    g = make_gateway("policy:\n  extraction_params: reject\n")
    key = g.apikey()
    status, _, body, _ = g.chat(key, **HARMLESS)
    assert status == 200, body
    sent = json.loads(stub.requests()[-1]["body"])
    assert {k: sent.get(k) for k in HARMLESS} == HARMLESS
    for params, name in [({"logprobs": True}, "logprobs"), ({"top_logprobs": 2}, "top_logprobs"),
                         ({"logit_bias": {"50256": -100}}, "logit_bias"), ({"n": 2}, "n")]:
        status, _, body, _ = g.chat(key, **params)
        assert status == 400 and body["error"]["message"] == \
            f"parameters not allowed by policy: {name}", params
    # legacy completions: logprobs 0 still returns the sampled token's log probability
    status, _, body, _ = g.request("POST", "/v1/completions", {"model": "demo-model",
                                   "prompt": "x", "logprobs": 0}, key=key)
    assert status == 400 and "logprobs" in body["error"]["message"]
    assert len(stub.requests()) == 1


def test_harmless_extraction_values_kept_under_strip(make_gateway, stub):
    g = make_gateway()  # policy: strip
    key = g.apikey()
    status, h, _, _ = g.chat(key, **HARMLESS)
    assert status == 200
    sent = json.loads(stub.requests()[-1]["body"])
    assert {k: sent.get(k) for k in HARMLESS} == HARMLESS
    assert not [d for d in wait_record(g, h["x-request-id"])["decisions"] if d["action"] == "strip"]
    # stripping logprobs takes a top_logprobs of 0 with it (servers refuse one without the other)
    status, h, _, _ = g.chat(key, logprobs=True, top_logprobs=0, n=1)
    assert status == 200
    sent = json.loads(stub.requests()[-1]["body"])
    assert "logprobs" not in sent and "top_logprobs" not in sent and sent["n"] == 1
    assert {"stage": "admit", "action": "strip", "detail": "logprobs"} in \
        wait_record(g, h["x-request-id"])["decisions"]


# ---- 4 and 8. apikey create: limits and principal names --------------------------------------

def test_apikey_limits(make_gateway, stub):
    g = make_gateway()
    p = run("apikey", "create", "-c", g.config, "--principal", "alice", "--models",
            "demo-model", "--max-tokens", "0", check=False)
    assert p.returncode == 64 and "--max-tokens" in p.stderr and p.stdout == ""
    assert "0 for unlimited" in run("apikey", "--help").stdout.replace("\n", " ")
    # 0 means unlimited for the rate limits, and the key works
    key = g.apikey("bob", "demo-model", "--rpm", "0", "--tpm", "0", "--concurrency", "0",
                   "--max-tokens", "1")
    for _ in range(3):
        assert g.chat(key, max_tokens=50)[0] == 200
        assert json.loads(stub.requests()[-1]["body"])["max_tokens"] == 1
    assert "ak_" + key[4:20] in run("apikey", "list", "-c", g.config).stdout


def test_principal_names_one_rule(make_gateway):
    g = make_gateway(start=False)
    for bad in ["a+b", "a b", "a,b", 'a"b', "\u00e9", "x" * 65, ""]:
        p = run("apikey", "create", "-c", g.config, "--principal", bad, "--models",
                "demo-model", check=False)
        assert p.returncode == 64, bad
        assert "letters, digits and - _ . : / @" in p.stderr, bad
    for good in ["team-a_b.c:d/e@example", "x" * 64]:
        run("apikey", "create", "-c", g.config, "--principal", good, "--models", "demo-model")
    # the configuration applies the same rule, with the same message
    g.edit_config("principals:\n  'a+b': {extraction_params: allow}\n")
    rc, err = config_error(g)
    assert rc != 0 and "principals.a+b" in err and "letters, digits and - _ . : / @" in err
    g.edit_config("principals:\n  'team-a_b.c:d/e@example': {extraction_params: allow}\n")
    assert config_error(g)[0] == 0


# ---- 5. a token for a key about to expire ---------------------------------------------------

def test_token_near_key_expiry(make_gateway):
    g = make_gateway()
    key = g.apikey("carol", "demo-model", "--expires", "6s")
    db = sqlite3.connect(os.path.join(g.dir, "state.db"))
    expires_ms = db.execute("SELECT expires_ms FROM credentials WHERE id = ?",
                            ("ak_" + key[4:20],)).fetchone()[0]
    db.close()
    status, _, body, _ = g.request("POST", "/v1/tokens", {"ttl": 3600}, key=key)
    assert status == 200 and 1 <= body["expires_in"] <= 5
    payload = body["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] * 1000 <= expires_ms  # the token never outlives its key
    # less than a second left: refused like an expired key, not a server error
    time.sleep(max(0.0, (expires_ms - 700) / 1000 - time.time()))
    status, h, body, _ = g.request("POST", "/v1/tokens", {}, key=key)
    assert time.time() * 1000 < expires_ms, "too slow to test the last second"
    assert status == 401, body
    assert body["error"]["type"] == "authentication_error" and "expired" in body["error"]["message"]
    assert h["www-authenticate"] == "Bearer"
    time.sleep(max(0.0, expires_ms / 1000 - time.time()) + 0.1)
    assert g.request("POST", "/v1/tokens", {}, key=key)[0] == 401


# ---- 6. admin error replies ----------------------------------------------------------------

def admin_post(g, path, body):
    p = subprocess.run(["curl", "-sS", "--cacert", g.ca, "--cert",
                        os.path.join(g.dir, "tls", "admin.crt"), "--key",
                        os.path.join(g.dir, "tls", "admin.key"), "-X", "POST", "-d", body,
                        "-w", "\n%{http_code}", f"https://localhost:{g.admin_port}{path}"],
                       capture_output=True, text=True, timeout=30)
    text, _, code = p.stdout.rpartition("\n")
    return int(code), json.loads(text)


def test_admin_error_replies(make_gateway):
    g = make_gateway()
    key = g.apikey()
    # a message that quotes the expected body is still a valid JSON reply
    status, body = admin_post(g, "/admin/lockdown", "{}")
    assert status == 400 and body["error"]["message"] == 'expected {"on": true|false}'
    # damage the state database so the gateway cannot reload it
    db = sqlite3.connect(os.path.join(g.dir, "state.db"))
    db.execute("INSERT INTO blocks(principal, since_ms) VALUES(NULL, 0)")
    db.commit()
    time.sleep(0.6)
    assert g.proc.poll() is None
    status, body = admin_post(g, "/admin/lockdown", '{"on": true}')
    assert status == 500 and body["error"]["type"] == "server_error"
    msg = body["error"]["message"]
    assert "lockdown_on was saved" in msg and "could not reload" in msg and "not in effect" in msg
    assert g.chat(key)[0] == 200  # true: the old snapshot still rules
    db.execute("DELETE FROM blocks WHERE principal IS NULL")
    db.commit()
    db.close()
    time.sleep(0.6)
    assert g.chat(key)[0] == 503  # repaired: the saved lockdown now applies
    admin = [r for r in records_strict(g) if r["type"] == "admin"]
    assert [r["status"] for r in admin if r["action"] == "lockdown_on"] == [500]


# ---- 7. listener ports -----------------------------------------------------------------------

def test_listen_port_zero_refused(make_gateway, tmp_path):
    g = make_gateway(start=False)
    set_config(g, f"  port: {g.port}\n", "  port: 0\n")
    rc, err = config_error(g)
    assert rc != 0 and "listen.port: must be between 1 and 65535" in err
    set_config(g, "  port: 0\n", f"  port: {g.port}\n")
    # admin.port 0 keeps its documented meaning: no admin listener
    set_config(g, f"  port: {g.admin_port}\n", "  port: 0\n")
    assert config_error(g)[0] == 0
    set_config(g, "admin:\n  address: 127.0.0.1\n  port: 0\n", "admin:\n  address: 127.0.0.1\n"
               "  port: 65536\n")
    rc, err = config_error(g)
    assert rc != 0 and "admin.port: must be between 0 and 65535" in err
    p = run("init", str(tmp_path / "p0"), "--port", "0", check=False)
    assert p.returncode == 64 and "--port" in p.stderr
    assert not os.path.exists(tmp_path / "p0")


# ---- 10. castellan init: private files, safe directories ------------------------------------

def modes(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames + ([""] if dirpath == root else []):
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = os.lstat(path).st_mode
    return out


def test_init_creates_private_files(tmp_path):
    d = str(tmp_path / "setup")
    # even with a permissive umask
    run("init", d, preexec_fn=lambda: os.umask(0))
    m = modes(d)
    for name in ["castellan.yaml", "state.db", "token.key", "tls/ca.crt", "tls/ca.key",
                 "tls/server.crt", "tls/server.key", "tls/admin.crt", "tls/admin.key"]:
        assert name in m, name
    for name, mode in m.items():
        if stat.S_ISDIR(mode):
            assert stat.S_IMODE(mode) == 0o700, (name, oct(mode))
        else:
            assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o600, (name, oct(mode))
    # the setup works: the CLI can read what init wrote
    run("apikey", "create", "-c", os.path.join(d, "castellan.yaml"), "--principal", "a",
        "--models", "demo-model")


def test_init_directory_rules(tmp_path):
    # an existing empty directory of ours is adopted and made private
    empty = tmp_path / "empty"
    empty.mkdir()
    os.chmod(empty, 0o755)
    run("init", str(empty))
    assert stat.S_IMODE(os.stat(empty).st_mode) == 0o700
    # a non-empty directory is refused, and left as it was
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    p = run("init", str(full), check=False)
    assert p.returncode == 1 and "not empty" in p.stderr
    assert os.listdir(full) == ["notes.txt"]
    # a directory others can write is refused
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    p = run("init", str(shared), check=False)
    assert p.returncode == 1 and "writable by group or others" in p.stderr
    assert os.listdir(shared) == []
    # a symbolic link is refused
    link = tmp_path / "link"
    os.symlink(tmp_path / "target", link)
    (tmp_path / "target").mkdir()
    p = run("init", str(link), check=False)
    assert p.returncode == 1 and "symbolic links are refused" in p.stderr
    # a second init over a setup is refused
    p = run("init", str(empty), check=False)
    assert p.returncode == 1 and "not empty" in p.stderr


# ---- 11. defaults follow a lowered maximum; contradictions name both keys --------------------

def test_defaults_follow_lowered_maximum(make_gateway, stub):
    g = make_gateway("limits:\n  max_tokens: 512\n\ntokens:\n  key: token.key\n  max_ttl: 10m\n")
    key = g.apikey()
    assert g.chat(key)[0] == 200
    assert json.loads(stub.requests()[-1]["body"])["max_tokens"] == 512
    status, _, body, _ = g.request("POST", "/v1/tokens", {}, key=key)
    assert status == 200 and body["expires_in"] == 600


def test_inconsistent_defaults_name_both_keys(make_gateway):
    g = make_gateway(start=False)
    g.edit_config("limits:\n  max_tokens: 100\n  default_max_tokens: 200\n")
    rc, err = config_error(g)
    assert rc != 0 and "limits.default_max_tokens" in err and "limits.max_tokens" in err
    g.edit_config("limits:\n  default_max_tokens: 5000\n")
    rc, err = config_error(g)
    assert rc != 0 and "limits.default_max_tokens" in err and "limits.max_tokens (4096" in err
    g.edit_config("limits:\n  max_tokens: 4096\n\n"
                  "tokens:\n  key: token.key\n  max_ttl: 10m\n  default_ttl: 15m\n")
    rc, err = config_error(g)
    assert rc != 0 and "tokens.default_ttl" in err and "tokens.max_ttl" in err
