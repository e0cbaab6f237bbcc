"""The gateway serves only verified models.

An upstream names its model directory, OMS signature bundle and trusted keys (or CA). The
gateway verifies at start-up, on reload and every interval; a model that fails is refused with
503 naming the reason and an audit record; the verified root digest is in every invocation
record; `castellan admin status` shows each model's state. The model used here is the
model_signing project's own v1.1.0 test model and bundle, so the verifier is checked against
bundles it did not write.
"""
import json
import os
import shutil
import signal
import time

import pytest

from conftest import run

DATA = os.path.join(os.environ.get("CST_SOURCE_DIR", "."), "..", "shared", "data", "models",
                    "oms", "model-transparency")
KEYS = os.path.join(DATA, "keys", "certificate")
ROOT = "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"


def integrity(model_dir, trust, interval="1s"):
    lines = ["    integrity:", f"      model_dir: {model_dir}"]
    lines += [f"      {k}: {v}" for k, v in trust.items()]
    lines.append(f"      interval: {interval}")
    return "\n".join(lines) + "\n"


def protect(g, block):
    """Adds an integrity section to the first upstream (after its api_key_file line)."""
    lines = open(g.config).read().split("\n")
    at = next(i for i, l in enumerate(lines) if l.startswith("    api_key_file:"))
    lines.insert(at + 1, block.rstrip("\n"))
    open(g.config, "w").write("\n".join(lines))


def status(g):
    return json.loads(g.admin("status").stdout)


def wait_state(g, want, checks_above=0, timeout=20):
    deadline = time.time() + timeout
    while True:
        models = status(g)["models"]
        if models and models[0]["state"] == want and models[0]["checks"] > checks_above:
            return models[0]
        if time.time() > deadline:
            raise AssertionError(f"model state never became {want}: {models}")
        time.sleep(0.1)


@pytest.fixture
def model(tmp_path):
    d = tmp_path / "model"
    shutil.copytree(os.path.join(DATA, "v1.1.0-elliptic-key"), d)
    return d


def test_serves_verified_model_and_records_digest(make_gateway, model):
    g = make_gateway(start=False)
    protect(g, integrity(model, {"keys": os.path.join(KEYS, "signing-key-pub.pem")}))
    g.start()
    m = wait_state(g, "verified")
    assert m["model_digest"]["sha256"] == ROOT
    assert m["model_dir"] == str(model) and m["upstream"] == "local"
    key = g.apikey()
    st, h, body, _ = g.chat(key)
    assert st == 200, body
    rec = g.record(h["x-request-id"])
    assert rec["model_digest"] == {"sha256": ROOT}
    ver = [r for r in g.records() if r.get("type") == "model_verification"]
    assert ver and ver[0]["outcome"] == "verified" and ver[0]["model_digest"]["sha256"] == ROOT


def test_tampered_model_refused_then_restored(make_gateway, model, stub):
    g = make_gateway(start=False)
    protect(g, integrity(model, {"keys": os.path.join(KEYS, "signing-key-pub.pem")}))
    g.start()
    first = wait_state(g, "verified")
    key = g.apikey()
    assert g.chat(key)[0] == 200
    # One byte of one weight file changes under the running gateway.
    p = model / "signme-1"
    original = p.read_bytes()
    p.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    m = wait_state(g, "failed", first["checks"])
    assert "signme-1" in m["reason"], m
    assert "model_digest" not in m
    before = len(stub.requests())
    st, h, body, _ = g.chat(key)
    assert st == 503, body
    assert body["error"]["type"] == "model_integrity_error"
    assert "signme-1" in body["error"]["message"]
    assert len(stub.requests()) == before  # nothing reached the model
    rec = g.record(h["x-request-id"])
    assert rec["status"] == 503 and "model_digest" not in rec
    failed = [r for r in g.records() if r.get("type") == "model_verification"
              and r["outcome"] == "failed"]
    assert failed and "signme-1" in failed[-1]["reason"]
    # Restored: served again at the next verification.
    p.write_bytes(original)
    wait_state(g, "verified", m["checks"])
    assert g.chat(key)[0] == 200


def test_extra_and_missing_files(make_gateway, model):
    g = make_gateway(start=False)
    protect(g, integrity(model, {"keys": os.path.join(KEYS, "signing-key-pub.pem")}))
    (model / "backdoor.bin").write_bytes(b"x")
    g.start()
    m = wait_state(g, "failed")
    assert "backdoor.bin" in m["reason"], m
    os.unlink(model / "backdoor.bin")
    m = wait_state(g, "verified", m["checks"])
    os.unlink(model / "signme-2")
    m = wait_state(g, "failed", m["checks"])
    assert "signme-2" in m["reason"], m


def test_wrong_key_and_certificate_method(make_gateway, model, tmp_path):
    other = tmp_path / "other.pem"
    run_openssl = ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
    import subprocess
    priv = subprocess.run(run_openssl, check=True, capture_output=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-pubout"], input=priv, check=True,
                         capture_output=True).stdout
    other.write_bytes(pub)
    g = make_gateway(start=False)
    protect(g, integrity(model, {"keys": str(other)}, interval="0"))
    g.start()
    m = wait_state(g, "failed")
    key = g.apikey()
    st, _, body, _ = g.chat(key)
    assert st == 503 and "integrity verification failed" in body["error"]["message"]
    # Reload with the certificate method (the bundle of the certificate vector, trusted CA).
    cert_model = tmp_path / "certmodel"
    shutil.copytree(os.path.join(DATA, "v1.1.0-certificate"), cert_model)
    text = open(g.config).read()
    start = text.index("    integrity:")
    end = text.index("models:")
    text = text[:start] + integrity(cert_model, {"cert_chain": os.path.join(KEYS, "ca-cert.pem")},
                                    interval="0") + text[end:]
    open(g.config, "w").write(text)
    g.proc.send_signal(signal.SIGHUP)
    wait_state(g, "verified")
    assert g.chat(key)[0] == 200


def test_reload_reverifies_unchanged_model(make_gateway, model):
    g = make_gateway(start=False)
    protect(g, integrity(model, {"keys": os.path.join(KEYS, "signing-key-pub.pem")},
                         interval="0"))
    g.start()
    m = wait_state(g, "verified")
    p = model / "signme-2"
    p.write_bytes(p.read_bytes() + b"!")
    time.sleep(1.5)
    assert status(g)["models"][0]["state"] == "verified"  # interval 0: no periodic check
    g.proc.send_signal(signal.SIGHUP)
    m = wait_state(g, "failed", m["checks"])
    assert "signme-2" in m["reason"]
