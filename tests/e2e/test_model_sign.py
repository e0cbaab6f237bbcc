"""Black-box tests of `castellan model hash|sign|verify` (OpenSSF Model Signing v1.0) through
the real binary: every model-transparency v1.0.0/v1.0.1/v1.1.0 bundle (elliptic-key,
certificate; sigstore reported unsupported), the OMS spec test-vectors (valid, invalid,
invalid-payload), checklist item 21, round trips for P-256/P-384/P-521/Ed25519 keys made here
with `openssl genpkey` in files and shards modes, the certificate method with
model_signing's chain, tampering (a byte flipped, a file added or removed, the statement
edited, a signature swapped, the wrong key or CA), symlinks, colons in shard names, ignore
rules, blake2b/blake3, and the exit codes and messages. Every bundle castellan writes is also
checked by tests/tools/omscheck.py, a verifier that shares no code with castellan and follows
model_signing's logic, and omscheck itself is checked against the upstream vectors first.
"""
import base64
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import CASTELLAN

SRC = os.environ.get("CST_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import omscheck  # noqa: E402

DATA = os.environ.get("CST_OMS_DATA", os.path.join(SRC, "..", "shared", "data", "models",
                                                    "oms"))
MT = os.path.join(DATA, "model-transparency")
KEYS = os.path.join(MT, "keys", "certificate")
PUB = os.path.join(KEYS, "signing-key-pub.pem")
CA = os.path.join(KEYS, "ca-cert.pem")
SPEC = os.path.join(DATA, "model-signing-spec", "test-vectors", "v1.0")
ROOT_V110 = "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"
HINT_MT = "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e"
VERSIONS = ["v1.0.0", "v1.0.1", "v1.1.0"]


def cst(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([CASTELLAN, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=e)


def genkey(tmp, kind):
    priv, pub = tmp / f"{kind}.pem", tmp / f"{kind}.pub"
    if kind == "ed25519":
        cmd = ["openssl", "genpkey", "-algorithm", "ED25519", "-out", priv]
    else:
        cmd = ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
               f"ec_paramgen_curve:{kind}", "-out", priv]
    subprocess.run(cmd, check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return priv, pub


def make_model(root):
    files = {
        "config.json": b'{"layers": 2}',
        "tokenizer.json": b"{}",
        "tokenizer/vocab.txt": b"a\nb\nc\n",
        "weights/part-00001.safetensors": bytes(range(256)) * 40,
        "weights/part-00002.safetensors": b"\x00\x01" * 3000,
        "nested/deeper/still/w.bin": b"deep",
        "empty.txt": b"",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def payload_of(sig):
    b = json.loads(pathlib.Path(sig).read_text())
    return json.loads(base64.b64decode(b["dsseEnvelope"]["payload"])), b


def omscheck_ok(model, sig, key=None, ca=None, ignore=(), ignore_unsigned=False):
    ok, reasons, info = omscheck.verify(str(model), str(sig), key and str(key),
                                        ca and str(ca), ignore, ignore_unsigned)
    assert ok, reasons
    return info


def copy_v110(dst):
    dst.mkdir()
    for f in ("signme-1", "signme-2", "ignore-me"):
        shutil.copy(os.path.join(MT, "v1.1.0-elliptic-key", f), dst / f)
    return dst


# --- the independent checker against upstream data first ------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_omscheck_accepts_upstream_and_rejects_tampering(version, tmp_path):
    model = os.path.join(MT, f"{version}-elliptic-key")
    sig = os.path.join(model, "model.sig")
    if version == "v1.0.0":
        model = os.path.join(model, "signme-1")
    omscheck_ok(model, sig, key=PUB, ignore=["ignore-me"])
    omscheck_ok(os.path.join(MT, f"{version}-certificate"),
                os.path.join(MT, f"{version}-certificate", "model.sig"), ca=CA,
                ignore=["ignore-me"])
    # The checker must be able to fail: a copy with one byte changed.
    t = tmp_path / "m"
    shutil.copytree(os.path.join(MT, f"{version}-certificate"), t)
    data = bytearray((t / "signme-2").read_bytes())
    data[0] ^= 1
    (t / "signme-2").write_bytes(bytes(data))
    ok, reasons, _ = omscheck.verify(str(t), str(t / "model.sig"), None, CA, ["ignore-me"])
    assert not ok and "modified signme-2" in reasons


# --- CLI conventions ------------------------------------------------------------------------

def test_help_and_usage():
    p = cst("model", "--help")
    assert p.returncode == 0
    for verb in ("hash", "sign", "verify", "encrypt", "decrypt", "shred"):
        assert f"castellan model {verb}" in p.stdout or verb in p.stdout
    p = cst("model", "verify", "--help")
    assert p.returncode == 0 and "usage: castellan model verify" in p.stdout
    p = cst("--help")
    assert p.returncode == 0 and "  model " in p.stdout and "  kms " in p.stdout
    assert cst("model").returncode == 64
    assert cst("model", "frobnicate").returncode == 64
    p = cst("model", "verify", MT)
    assert p.returncode == 64 and "--key" in p.stderr
    assert cst("model", "hash", MT, "--bogus").returncode == 64
    assert cst("model", "hash", MT, "--method", "tensors").returncode == 64
    assert cst("model", "hash", MT, "--shard-size", "10").returncode == 64  # needs shards
    assert cst("model", "sign", MT).returncode == 64  # --key required
    assert cst("model", "verify", MT, "--key", PUB, "--method", "files").returncode == 64
    assert cst("model", "hash", MT, "--jobs", "0").returncode == 64


# --- upstream vectors -------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_mt_elliptic_key_vectors(version):
    model = os.path.join(MT, f"{version}-elliptic-key")
    sig = os.path.join(model, "model.sig")
    if version == "v1.0.0":  # signed as a single file: its resource is "."
        model = os.path.join(model, "signme-1")
    p = cst("model", "verify", model, "--sig", sig, "--key", PUB, "--ignore-paths", "ignore-me")
    assert p.returncode == 0, p.stderr
    assert "verified" in p.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_mt_certificate_vectors(version):
    model = os.path.join(MT, f"{version}-certificate")
    p = cst("model", "verify", model, "--cert-chain", CA, "--ignore-paths", "ignore-me")
    assert p.returncode == 0, p.stderr
    assert "method: certificate" in p.stdout
    # The intermediate alone is also an anchor (model_signing's store treats it so).
    p = cst("model", "verify", model, "--cert-chain", os.path.join(KEYS, "int-ca-cert.pem"),
            "--ignore-paths", "ignore-me")
    assert p.returncode == 0, p.stderr


def test_v101_without_ignore_reports_extra():
    p = cst("model", "verify", os.path.join(MT, "v1.0.1-elliptic-key"), "--key", PUB)
    assert p.returncode == 1
    assert "extra: ignore-me" in p.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_mt_sigstore_vectors_unsupported(version):
    model = os.path.join(MT, f"{version}-sigstore")
    p = cst("model", "verify", model, "--cert-chain", CA, "--ignore-paths", "ignore-me",
            "--format", "json")
    assert p.returncode == 2, p.stderr
    assert "keyless Sigstore verification needs a Sigstore trust root" in p.stderr
    r = json.loads(p.stdout)
    assert r["status"] == "unsupported" and r["method"] == "sigstore"
    assert "not checked" in r["checked"] and "stefanb@us.ibm.com" in r["signer"]


def test_item21_exactly():
    model = os.path.join(MT, "v1.1.0-elliptic-key")
    p = cst("model", "hash", model, "--ignore-paths", "ignore-me", "--ignore-paths",
            "model.sig", "--format", "json")
    assert p.returncode == 0, p.stderr
    h = json.loads(p.stdout)
    assert h["root"] == ROOT_V110
    assert [r["name"] for r in h["resources"]] == ["signme-1", "signme-2"]
    p = cst("model", "verify", model, "--key", PUB, "--format", "json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["verified"] and r["root"] == ROOT_V110 and r["signer"] == "key " + HINT_MT
    # Independently: the hint is the SHA-256 of the PEM SPKI, the signature P-384/SHA-384.
    info = omscheck_ok(model, os.path.join(model, "model.sig"), key=PUB)
    pub = omscheck.load_public_key(PUB)
    assert omscheck.key_hint(pub) == HINT_MT == info["hint"]
    assert pub.curve.key_size == 384 and len(info["payload"]) == 926


def test_spec_valid_vectors(tmp_path):
    model = copy_v110(tmp_path / "mymodel")  # subject name "model" is not the dir name
    for name, trust in (("key", ["--key", PUB]), ("certificate", ["--cert-chain", CA])):
        p = cst("model", "verify", model, "--sig", os.path.join(SPEC, "valid",
                f"{name}.bundle.json"), *trust, "--format", "json")
        assert p.returncode == 0, (name, p.stderr)
        r = json.loads(p.stdout)
        assert r["subject"] == "model" and r["root"] == ROOT_V110
    p = cst("model", "verify", os.path.join(MT, "v1.1.0-sigstore"), "--sig",
            os.path.join(SPEC, "valid", "sigstore.bundle.json"), "--key", PUB)
    assert p.returncode == 2 and "Sigstore trust root" in p.stderr


@pytest.mark.parametrize("name,message", [
    ("empty", "the file is empty"),
    ("missing-envelope", "dsseEnvelope is missing"),
    ("missing-tlog-entries", "must carry tlogEntries"),
    ("missing-verification-material", "verificationMaterial is missing"),
])
def test_spec_invalid_vectors(name, message, tmp_path):
    model = copy_v110(tmp_path / "m")
    p = cst("model", "verify", model, "--sig", os.path.join(SPEC, "invalid",
            f"{name}.bundle.json"), "--key", PUB, "--cert-chain", CA)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr


def test_spec_wrong_predicate(tmp_path):
    model = copy_v110(tmp_path / "m")
    p = cst("model", "verify", model, "--sig", os.path.join(SPEC, "invalid-payload",
            "wrong-predicate.bundle.json"), "--key", PUB)
    assert p.returncode == 1
    assert "predicateType is 'https://example.com/wrong-predicate/v1.0'" in p.stderr
    assert "signature" in p.stderr


# --- round trips --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["P-256", "P-384", "P-521", "ed25519"])
@pytest.mark.parametrize("method", ["files", "shards"])
def test_roundtrip(kind, method, tmp_path):
    priv, pub = genkey(tmp_path, kind)
    model = make_model(tmp_path / "model")
    extra = ["--method", "shards", "--shard-size", "1000"] if method == "shards" else []
    p = cst("model", "sign", model, "--key", priv, *extra)
    assert p.returncode == 0, p.stderr
    sig = model / "model.sig"
    assert sig.exists() and f"signature: {sig}" in p.stdout
    p = cst("model", "verify", model, "--key", pub)
    assert p.returncode == 0, p.stderr
    info = omscheck_ok(model, sig, key=pub)
    st, bundle = payload_of(sig)
    names = [r["name"] for r in st["predicate"]["resources"]]
    if method == "shards":
        # 10240 bytes in 1000-byte shards: 11, the last short; empty files have none.
        assert [n for n in names if n.startswith("weights/part-00001")] == [
            f"weights/part-00001.safetensors:{s}:{min(s + 1000, 10240)}"
            for s in range(0, 10240, 1000)]
        assert not any(n.startswith("empty.txt") for n in names)
        assert st["predicate"]["serialization"]["shard_size"] == 1000
    else:
        assert "empty.txt" in names and "nested/deeper/still/w.bin" in names
    # model_signing's order (PurePosixPath, component-wise), and the root over it.
    paths = [n.rsplit(":", 2)[0] if method == "shards" else n for n in names]
    assert paths == [str(x) for x in sorted(pathlib.PurePosixPath(n) for n in paths)]
    assert names.index("tokenizer/vocab.txt" + (":0:6" if method == "shards" else "")) < \
        names.index("tokenizer.json" + (":0:2" if method == "shards" else ""))
    h = hashlib.sha256(b"".join(bytes.fromhex(r["digest"])
                                for r in st["predicate"]["resources"])).hexdigest()
    assert h == st["subject"][0]["digest"]["sha256"] == info["root"]
    assert st["subject"][0]["name"] == "model"
    # model_signing's layout: key order, hint, empty tlogEntries, keyid "".
    assert list(bundle) == ["mediaType", "verificationMaterial", "dsseEnvelope"]
    assert bundle["verificationMaterial"] == {
        "publicKey": {"hint": omscheck.key_hint(omscheck.load_public_key(pub))},
        "tlogEntries": []}
    assert list(bundle["dsseEnvelope"]) == ["payload", "payloadType", "signatures"]
    assert bundle["dsseEnvelope"]["signatures"][0]["keyid"] == ""
    # Payload formatted like protobuf MessageToJson (json.dumps, indent 2).
    raw = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    assert raw == json.dumps(json.loads(raw), indent=2).encode()
    assert list(st) == ["_type", "subject", "predicateType", "predicate"]
    assert "model.sig" in st["predicate"]["serialization"]["ignore_paths"]


def test_single_file_model(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    f = tmp_path / "model.gguf"
    f.write_bytes(b"GGUF" + bytes(1000))
    p = cst("model", "sign", f, "--key", priv)
    assert p.returncode == 0, p.stderr
    sig = tmp_path / "model.gguf.sig"
    st, _ = payload_of(sig)
    assert [r["name"] for r in st["predicate"]["resources"]] == ["."]
    assert st["subject"][0]["name"] == "model.gguf"
    assert cst("model", "verify", f, "--key", pub).returncode == 0
    omscheck_ok(f, sig, key=pub)


def test_certificate_method(tmp_path):
    model = make_model(tmp_path / "m")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pathlib.Path(KEYS, "signing-key-cert.pem").read_bytes() +
                      pathlib.Path(KEYS, "int-ca-cert.pem").read_bytes())
    p = cst("model", "sign", model, "--key", os.path.join(KEYS, "signing-key.pem"),
            "--cert-chain", chain)
    assert p.returncode == 0, p.stderr
    st, bundle = payload_of(model / "model.sig")
    certs = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]
    assert len(certs) == 2 and bundle["verificationMaterial"]["tlogEntries"] == []
    p = cst("model", "verify", model, "--cert-chain", CA)
    assert p.returncode == 0, p.stderr
    omscheck_ok(model, model / "model.sig", ca=CA)
    # Wrong CA.
    other_key, _ = genkey(tmp_path, "P-256")
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", other_key, "-subj",
                    "/CN=other-ca", "-days", "2", "-out", other_ca], check=True,
                   capture_output=True)
    p = cst("model", "verify", model, "--cert-chain", other_ca)
    assert p.returncode == 1 and "does not verify to the given CA" in p.stderr
    ok, _, _ = omscheck.verify(str(model), str(model / "model.sig"), None, str(other_ca))
    assert not ok
    # A key that is not the leaf's.
    p = cst("model", "sign", model, "--key", other_key, "--cert-chain", chain, "--out",
            tmp_path / "x.sig")
    assert p.returncode == 1 and "not the signing key" in p.stderr
    assert not (tmp_path / "x.sig").exists()
    # A key bundle needs --key, a certificate bundle --cert-chain.
    p = cst("model", "verify", model, "--key", PUB)
    assert p.returncode == 2 and "--cert-chain" in p.stderr


# --- tampering --------------------------------------------------------------------------------

@pytest.fixture
def signed(tmp_path):
    priv, pub = genkey(tmp_path, "P-384")
    model = make_model(tmp_path / "model")
    p = cst("model", "sign", model, "--key", priv)
    assert p.returncode == 0, p.stderr
    return model, priv, pub


def expect_fail(model, pub, sig=None, code=1, *needles):
    args = ["model", "verify", model, "--key", pub] + (["--sig", sig] if sig else [])
    p = cst(*args)
    assert p.returncode == code, p.stderr
    for n in needles:
        assert n in p.stderr, p.stderr
    return p


def test_tamper_byte_flipped(signed):
    model, _, pub = signed
    f = model / "weights" / "part-00001.safetensors"
    data = bytearray(f.read_bytes())
    data[5000] ^= 0x01
    f.write_bytes(bytes(data))
    expect_fail(model, pub, None, 1, "modified: weights/part-00001.safetensors")
    ok, reasons, _ = omscheck.verify(str(model), str(model / "model.sig"), str(pub))
    assert not ok and "modified weights/part-00001.safetensors" in reasons


def test_tamper_added_and_removed(signed):
    model, _, pub = signed
    (model / "nested" / "backdoor.py").write_text("import os")
    (model / "tokenizer.json").unlink()
    p = expect_fail(model, pub, None, 1, "extra: nested/backdoor.py", "missing: tokenizer.json")
    assert "2 problems" in p.stderr
    ok, reasons, _ = omscheck.verify(str(model), str(model / "model.sig"), str(pub))
    assert not ok and "extra nested/backdoor.py" in reasons and "missing tokenizer.json" in reasons
    # --ignore-unsigned-files forgives only the extra file.
    p = cst("model", "verify", model, "--key", pub, "--ignore-unsigned-files")
    assert p.returncode == 1 and "missing: tokenizer.json" in p.stderr
    assert "backdoor" not in p.stderr
    # An ignored path given at verification time.
    (model / "tokenizer.json").write_bytes(b"{}")
    p = cst("model", "verify", model, "--key", pub, "--ignore-paths", "nested/backdoor.py")
    assert p.returncode == 0, p.stderr


def expect_signature_refused(model, pub, bad, b):
    """Writes the bundle b to bad: castellan and the independent checker both refuse it."""
    bad.write_text(json.dumps(b))
    expect_fail(model, pub, bad, 1, "does not verify")
    assert not omscheck.verify(str(model), str(bad), str(pub))[0]


def test_tamper_statement_edited(signed, tmp_path):
    model, _, pub = signed
    st, b = payload_of(model / "model.sig")
    st["predicate"]["resources"][0]["digest"] = "0" * 64
    b["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(st, indent=2).encode()).decode()
    expect_signature_refused(model, pub, tmp_path / "edited.sig", b)


def test_tamper_signature_swapped(signed, tmp_path):
    model, priv, pub = signed
    other = make_model(tmp_path / "other")
    (other / "config.json").write_text('{"layers": 3}')
    assert cst("model", "sign", other, "--key", priv).returncode == 0
    b = json.loads((model / "model.sig").read_text())
    b["dsseEnvelope"]["signatures"] = json.loads(
        (other / "model.sig").read_text())["dsseEnvelope"]["signatures"]
    expect_signature_refused(model, pub, tmp_path / "swapped.sig", b)


def test_tamper_wrong_key(signed, tmp_path):
    model, _, pub = signed
    (tmp_path / "other").mkdir()
    _, wrong = genkey(tmp_path / "other", "P-384")
    expect_fail(model, wrong, None, 1, "key mismatch")
    ok, reasons, _ = omscheck.verify(str(model), str(model / "model.sig"), str(wrong))
    assert not ok and any("Key mismatch" in r for r in reasons)
    # Several trusted keys: one matching suffices.
    p = cst("model", "verify", model, "--key", wrong, "--key", pub)
    assert p.returncode == 0, p.stderr


# --- model rules ------------------------------------------------------------------------------

def test_symlinks(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    model = make_model(tmp_path / "m")
    os.symlink("config.json", model / "alias.json")
    p = cst("model", "sign", model, "--key", priv)
    assert p.returncode == 1 and "alias.json" in p.stderr and "symbolic link" in p.stderr
    assert not (model / "model.sig").exists()
    p = cst("model", "sign", model, "--key", priv, "--allow-symlinks")
    assert p.returncode == 0, p.stderr
    assert cst("model", "verify", model, "--key", pub).returncode == 0
    omscheck_ok(model, model / "model.sig", key=pub)
    # A symlink appearing after signing (without allow_symlinks) fails verification.
    os.unlink(model / "alias.json")
    assert cst("model", "sign", model, "--key", priv).returncode == 0
    os.symlink("/etc/passwd", model / "sneaky")
    p = cst("model", "verify", model, "--key", pub)
    assert p.returncode == 1 and "sneaky" in p.stderr


def test_colons_in_shard_names(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    model = tmp_path / "m"
    model.mkdir()
    (model / "a:b:c.bin").write_bytes(b"x" * 25)
    (model / "plain").write_bytes(b"y" * 3)
    p = cst("model", "sign", model, "--key", priv, "--method", "shards", "--shard-size", "10")
    assert p.returncode == 0, p.stderr
    st, _ = payload_of(model / "model.sig")
    assert [r["name"] for r in st["predicate"]["resources"]] == [
        "a:b:c.bin:0:10", "a:b:c.bin:10:20", "a:b:c.bin:20:25", "plain:0:3"]
    assert cst("model", "verify", model, "--key", pub).returncode == 0
    omscheck_ok(model, model / "model.sig", key=pub)
    (model / "a:b:c.bin").write_bytes(b"x" * 26)
    p = cst("model", "verify", model, "--key", pub)
    assert p.returncode == 1 and "modified: a:b:c.bin" in p.stderr


def test_ignores_recorded_and_honoured(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    model = make_model(tmp_path / "m")
    (model / "logs").mkdir()
    (model / "logs" / "run.txt").write_text("1")
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_text("ref")
    (model / "nested" / ".git").mkdir()
    (model / "nested" / ".git" / "x").write_text("nested .git is part of the model")
    p = cst("model", "sign", model, "--key", priv, "--ignore-paths", "logs")
    assert p.returncode == 0, p.stderr
    st, _ = payload_of(model / "model.sig")
    ser = st["predicate"]["serialization"]
    assert ser["ignore_paths"] == sorted([".git", ".gitattributes", ".github", ".gitignore",
                                          "logs", "model.sig"])
    names = [r["name"] for r in st["predicate"]["resources"]]
    assert "nested/.git/x" in names and not any(n.startswith("logs") for n in names)
    (model / "logs" / "run.txt").write_text("2")
    (model / ".git" / "HEAD").write_text("changed")
    assert cst("model", "verify", model, "--key", pub).returncode == 0
    omscheck_ok(model, model / "model.sig", key=pub)


def test_hash_algorithms(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    model = make_model(tmp_path / "m")
    p = cst("model", "sign", model, "--key", priv, "--hash", "blake2b")
    assert p.returncode == 0, p.stderr
    st, _ = payload_of(model / "model.sig")
    r0 = st["predicate"]["resources"][0]
    assert r0["algorithm"] == "blake2b" and len(r0["digest"]) == 128
    assert r0["digest"] == hashlib.blake2b((model / r0["name"]).read_bytes()).hexdigest()
    assert cst("model", "verify", model, "--key", pub).returncode == 0
    omscheck_ok(model, model / "model.sig", key=pub)
    p = cst("model", "sign", model, "--key", priv, "--hash", "blake3")
    assert p.returncode == 2 and "blake3" in p.stderr
    # A validly signed blake3 bundle (made here) is reported as an unsupported hash.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = serialization.load_pem_private_key(pathlib.Path(priv).read_bytes(), None)
    d = hashlib.sha256(b"x").hexdigest()
    stmt = json.dumps({"_type": omscheck.STATEMENT_TYPE, "subject": [{"name": "m", "digest": {
        "sha256": hashlib.sha256(bytes.fromhex(d)).hexdigest()}}],
        "predicateType": omscheck.PREDICATE_TYPE, "predicate": {"serialization": {
            "method": "files", "hash_type": "blake3", "allow_symlinks": False},
            "resources": [{"name": "config.json", "algorithm": "blake3", "digest": d}]}},
        indent=2).encode()
    sig = key.sign(omscheck.pae(stmt), ec.ECDSA(hashes.SHA256()))
    bundle = {"mediaType": omscheck.MEDIA_TYPE, "verificationMaterial": {
        "publicKey": {"hint": omscheck.key_hint(key.public_key())}, "tlogEntries": []},
        "dsseEnvelope": {"payload": base64.b64encode(stmt).decode(),
                         "payloadType": omscheck.PAYLOAD_TYPE,
                         "signatures": [{"sig": base64.b64encode(sig).decode()}]}}
    b3 = tmp_path / "blake3.sig"
    b3.write_text(json.dumps(bundle))
    p = cst("model", "verify", model, "--sig", b3, "--key", pub)
    assert p.returncode == 2 and "unsupported hash blake3" in p.stderr


def test_refusals(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    empty = tmp_path / "empty"
    empty.mkdir()
    p = cst("model", "sign", empty, "--key", priv)
    assert p.returncode == 2 and "no files to sign" in p.stderr
    bad = tmp_path / "latin1"
    bad.mkdir()
    (bad / "ok").write_text("x")
    open(os.path.join(os.fsencode(bad), b"caf\xe9"), "wb").close()
    p = cst("model", "hash", bad)
    assert p.returncode == 1 and "UTF-8" in p.stderr
    p = cst("model", "hash", tmp_path / "nonexistent")
    assert p.returncode == 2
    p = cst("model", "verify", make_model(tmp_path / "m"), "--key", pub)
    assert p.returncode == 2 and "cannot open" in p.stderr  # no model.sig


def test_output_atomic_and_jobs(tmp_path):
    priv, pub = genkey(tmp_path, "P-256")
    model = make_model(tmp_path / "m")
    out = tmp_path / "sigs" / "m.sig"
    out.parent.mkdir()
    out.write_text("old")
    p = cst("model", "sign", model, "--key", priv, "--out", out)
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["mediaType"] == omscheck.MEDIA_TYPE
    assert os.listdir(out.parent) == ["m.sig"]  # no temporary file left behind
    st, _ = payload_of(out)
    assert "m.sig" not in str(st["predicate"]["serialization"]["ignore_paths"])
    assert cst("model", "verify", model, "--sig", out, "--key", pub).returncode == 0
    roots = set()
    for jobs in ("1", "2", "5"):
        p = cst("model", "hash", model, "--format", "json", env={"CASTELLAN_JOBS": jobs})
        assert p.returncode == 0
        roots.add(json.loads(p.stdout)["root"])
    p = cst("model", "hash", model, "--jobs", "3", "--format", "json")
    roots.add(json.loads(p.stdout)["root"])
    assert len(roots) == 1
    assert cst("model", "hash", model, env={"CASTELLAN_JOBS": "zero"}).returncode == 64
