"""Black-box tests of `castellan model encrypt|decrypt|shred` with a real SoftHSM2 token.

A token is initialised in a temporary directory (softhsm2.conf with a file object store),
AES-256 key-encryption keys are generated inside it with pkcs11-tool (sensitive, never
extractable), and castellan reaches them through PKCS#11 URIs carrying the module path and
PIN. The tests check the round trip of a nested model directory byte for byte, that every
tamper (bit flips in a header, a segment or a tag, truncation, reordered or spliced segments,
swapped files, a file from another model, added or removed files, a modified key file, a wrong
key, a symlink) exits 1 naming the problem with nothing at the destination and no staging
directory left, the usage and unreadable-input exit codes, and crypto-shredding: the ciphertext
left behind cannot be decrypted, while (the documented limit) a copy of the key file taken
before the shred still decrypts until the key-encryption key is destroyed. One test names the
key through a configuration's kms section instead (`castellan kms create`), where an EC key is
refused and `castellan kms destroy` leaves the model unrecoverable.
"""
import json
import os
import shutil
import stat
import subprocess

import pytest

CASTELLAN = os.environ.get("CASTELLAN_BIN", "build/castellan")
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"
SEG = 64 * 1024
CHUNK = SEG + 16

pytestmark = pytest.mark.skipif(
    not (os.path.exists(MODULE) and shutil.which("softhsm2-util") and shutil.which("pkcs11-tool")),
    reason="SoftHSM2 and pkcs11-tool (opensc) are needed")


def uri(label):
    return f"pkcs11:token=castellan;object={label}?module-path={MODULE}&pin-value={PIN}"


class Hsm:
    def __init__(self, tmp):
        self.dir = tmp / "hsm"
        (self.dir / "tokens").mkdir(parents=True)
        conf = self.dir / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {self.dir / 'tokens'}\n"
                        "objectstore.backend = file\nlog.level = ERROR\n")
        self.env = dict(os.environ, SOFTHSM2_CONF=str(conf))
        self.env.pop("CASTELLAN_CONFIG", None)
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "castellan",
                        "--pin", PIN, "--so-pin", "5678"], env=self.env, check=True,
                       capture_output=True)

    def p11(self, *args):
        return subprocess.run(["pkcs11-tool", "--module", MODULE, "--token-label", "castellan",
                               "--login", "--pin", PIN, *args], env=self.env,
                              capture_output=True, text=True)

    def aes_key(self, label):
        p = self.p11("--keygen", "--key-type", "AES:32", "--label", label, "--usage-wrap",
                     "--sensitive")
        assert p.returncode == 0, p.stderr
        listing = self.p11("--list-objects", "--type", "secrkey").stdout
        assert label in listing and "never extractable" in listing

    def destroy(self, label):
        p = self.p11("--delete-object", "--type", "secrkey", "--label", label)
        assert p.returncode == 0, p.stderr

    def run(self, *args):
        return subprocess.run([CASTELLAN, *args], env=self.env, capture_output=True, text=True,
                              timeout=120)


@pytest.fixture
def hsm(tmp_path):
    h = Hsm(tmp_path)
    h.aes_key("kek1")
    h.aes_key("kek2")
    return h


def make_model(root):
    """A nested model tree: several segment-sized and odd-sized files, an empty file and an
    empty directory. Returns {relative path: bytes}."""
    files = {
        "config.json": b'{"architectures": ["Test"], "hidden_size": 64}\n',
        "tokenizer.json": os.urandom(5000),
        "weights/model-00001-of-00002.safetensors": os.urandom(5 * SEG),
        "weights/model-00002-of-00002.safetensors": os.urandom(5 * SEG + 123),
        "weights/extra/empty.bin": b"",
        "weights/extra/one.bin": b"\x01",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "empty_dir").mkdir()
    return files


def tree(root):
    """Every directory and file under root, relative, with file contents."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            out[rel + "/"] = None
        for f in filenames:
            out[os.path.normpath(os.path.join(rel, f))] = open(os.path.join(dirpath, f), "rb").read()
    return out


def no_staging(parent):
    return not [n for n in os.listdir(parent) if ".partial-" in n]


@pytest.fixture
def model(tmp_path, hsm):
    src = tmp_path / "model"
    files = make_model(src)
    enc = tmp_path / "enc"
    p = hsm.run("model", "encrypt", str(src), "--key", uri("kek1"), "--out", str(enc),
                "--segment-size", "64K", "--jobs", "2")
    assert p.returncode == 0, p.stderr
    assert "encrypted 6 files" in p.stdout
    return src, enc, files


def header_len(rel):
    return 62 + len(rel.encode()) + 32


def test_round_trip(tmp_path, hsm, model):
    src, enc, files = model
    names = tree(enc)
    assert ".castellan-model-key" in names
    for rel in files:
        assert rel + ".cenc" in names and rel not in names
    assert "empty_dir/" in names
    for rel, data in files.items():
        ct = (enc / (rel + ".cenc")).read_bytes()
        nseg = max(1, -(-len(data) // SEG))
        assert len(ct) == header_len(rel) + len(data) + 16 * nseg
        if len(data) >= 64:
            assert data[:64] not in ct
    key = json.loads((enc / ".castellan-model-key").read_text())
    assert key["format"] == "castellan-model-key/v1"
    assert key["kek"] == {"name": "kek1", "type": "aes-256"}
    assert key["cipher"] == "AES-256-GCM" and key["segment_size"] == SEG
    assert [f["path"] for f in key["files"]] == sorted(files)
    assert key["dirs"] == ["empty_dir", "weights", "weights/extra"]
    assert len(bytes.fromhex(key["wrapped_dek"])) == 40

    out = tmp_path / "out"
    p = hsm.run("model", "decrypt", str(enc), "--key", uri("kek1"), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "verified and decrypted 6 files" in p.stdout
    assert tree(out) == tree(src)
    assert stat.S_IMODE(os.stat(out / "config.json").st_mode) == 0o600
    assert no_staging(tmp_path)

    # Into an existing empty directory, one job.
    out2 = tmp_path / "out2"
    out2.mkdir()
    p = hsm.run("model", "decrypt", str(enc), "--key", uri("kek1"), "--out", str(out2),
                "--jobs", "1")
    assert p.returncode == 0, p.stderr
    assert tree(out2) == tree(src)


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def truncate(path, n):
    with open(path, "r+b") as f:
        f.truncate(n)


def swap_segments(path, rel, i, j):
    data = bytearray(open(path, "rb").read())
    h = header_len(rel)
    a, b = data[h + i * CHUNK:h + (i + 1) * CHUNK], data[h + j * CHUNK:h + (j + 1) * CHUNK]
    data[h + i * CHUNK:h + (i + 1) * CHUNK] = b
    data[h + j * CHUNK:h + (j + 1) * CHUNK] = a
    open(path, "wb").write(data)


W1 = "weights/model-00001-of-00002.safetensors"
W2 = "weights/model-00002-of-00002.safetensors"


def t_flip_segment(enc, other):
    flip(enc / (W1 + ".cenc"), header_len(W1) + 2 * CHUNK + 100)
    return f"{W1}: segment 2 failed authentication"


def t_flip_tag(enc, other):
    p = enc / (W2 + ".cenc")
    flip(p, os.path.getsize(p) - 1)
    return f"{W2}: segment 5 failed authentication"


def t_flip_header(enc, other):
    flip(enc / "tokenizer.json.cenc", 40)
    return "tokenizer.json: header failed authentication"


def t_truncate_boundary(enc, other):
    truncate(enc / (W1 + ".cenc"), header_len(W1) + 3 * CHUNK)
    return f"{W1}: truncated: final segment missing"


def t_truncate_mid(enc, other):
    truncate(enc / (W1 + ".cenc"), header_len(W1) + 3 * CHUNK + 1000)
    return f"{W1}: segment 3 failed authentication"


def t_drop_last_segment(enc, other):
    truncate(enc / (W2 + ".cenc"), header_len(W2) + 5 * CHUNK)
    return f"{W2}: truncated: final segment missing"


def t_append(enc, other):
    with open(enc / (W1 + ".cenc"), "ab") as f:
        f.write(b"\0" * 10)
    return f"{W1}: 10 bytes follow the final segment"


def t_reorder(enc, other):
    swap_segments(enc / (W1 + ".cenc"), W1, 1, 3)
    return f"{W1}: segment 1 failed authentication"


def t_splice_between_files(enc, other):
    a = bytearray((enc / (W1 + ".cenc")).read_bytes())
    b = (enc / (W2 + ".cenc")).read_bytes()
    h1, h2 = header_len(W1), header_len(W2)
    a[h1 + 2 * CHUNK:h1 + 3 * CHUNK] = b[h2 + 2 * CHUNK:h2 + 3 * CHUNK]
    (enc / (W1 + ".cenc")).write_bytes(bytes(a))
    return f"{W1}: segment 2 failed authentication"


def t_swap_files(enc, other):
    a, b = enc / (W1 + ".cenc"), enc / (W2 + ".cenc")
    tmp = enc / "tmp"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    return "(renamed or moved file)"


def t_file_from_other_model(enc, other):
    shutil.copyfile(other / "tokenizer.json.cenc", enc / "tokenizer.json.cenc")
    return "tokenizer.json: belongs to another model"


def t_segment_from_other_model(enc, other):
    a = bytearray((enc / (W1 + ".cenc")).read_bytes())
    b = (other / (W1 + ".cenc")).read_bytes()
    h = header_len(W1)
    a[h + CHUNK:h + 2 * CHUNK] = b[h + CHUNK:h + 2 * CHUNK]
    (enc / (W1 + ".cenc")).write_bytes(bytes(a))
    return f"{W1}: segment 1 failed authentication"


def t_add_file(enc, other):
    (enc / "weights" / "injected.bin.cenc").write_bytes(b"x" * 200)
    return "file list: extra file weights/injected.bin.cenc"


def t_remove_file(enc, other):
    (enc / "config.json.cenc").unlink()
    return "file list: missing file config.json.cenc"


def t_rename_file(enc, other):
    (enc / "config.json.cenc").rename(enc / "config2.json.cenc")
    return "file list: extra file config2.json.cenc"


def t_add_dir(enc, other):
    (enc / "weights" / "new").mkdir()
    return "file list: extra directory weights/new"


def t_key_file_list(enc, other):
    k = enc / ".castellan-model-key"
    doc = json.loads(k.read_text())
    doc["files"] = [f for f in doc["files"] if f["path"] != "config.json"]
    k.write_text(json.dumps(doc))
    (enc / "config.json.cenc").unlink()
    return "the file list failed authentication"


def t_key_file_other_model(enc, other):
    shutil.copyfile(other / ".castellan-model-key", enc / ".castellan-model-key")
    return "belongs to another model"


def t_symlink(enc, other):
    os.symlink("config.json.cenc", enc / "link.cenc")
    return "link.cenc: a symbolic link"


TAMPERS = [t_flip_segment, t_flip_tag, t_flip_header, t_truncate_boundary, t_truncate_mid,
           t_drop_last_segment, t_append, t_reorder, t_splice_between_files, t_swap_files,
           t_file_from_other_model, t_segment_from_other_model, t_add_file, t_remove_file,
           t_rename_file, t_add_dir, t_key_file_list, t_key_file_other_model, t_symlink]


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__[2:] for t in TAMPERS])
def test_tamper_refused(tmp_path, hsm, model, tamper):
    src, enc, files = model
    other = tmp_path / "other"
    p = hsm.run("model", "encrypt", str(src), "--key", uri("kek1"), "--out", str(other),
                "--segment-size", "64K")
    assert p.returncode == 0, p.stderr
    want = tamper(enc, other)
    out = tmp_path / "out"
    p = hsm.run("model", "decrypt", str(enc), "--key", uri("kek1"), "--out", str(out))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert want in p.stderr, p.stderr
    assert p.stderr.startswith("castellan model decrypt: ")
    assert not out.exists()
    assert no_staging(tmp_path)


def test_wrong_key(tmp_path, hsm, model):
    src, enc, files = model
    out = tmp_path / "out"
    p = hsm.run("model", "decrypt", str(enc), "--key", uri("kek2"), "--out", str(out))
    assert p.returncode == 1
    assert "wrong key: the data key does not unwrap with kms key kek2" in p.stderr
    assert "key file names key kek1" in p.stderr
    assert not out.exists() and no_staging(tmp_path)


def test_usage_and_unreadable(tmp_path, hsm, model):
    src, enc, files = model
    k = uri("kek1")
    usage = [
        [],
        [str(src)],
        [str(src), "--key", k],
        [str(src), "--out", str(tmp_path / "x")],
        [str(src), str(src), "--key", k, "--out", str(tmp_path / "x")],
        [str(src), "--key", k, "--out", str(tmp_path / "x"), "--bogus"],
        [str(src), "--key", k, "--out", str(tmp_path / "x"), "--segment-size", "100"],
        [str(src), "--key", k, "--out", str(tmp_path / "x"), "--segment-size", "32M"],
        [str(src), "--key", k, "--out", str(tmp_path / "x"), "--jobs", "0"],
        [str(src), "--key", k, "--out", str(enc)],          # output not empty
        [str(src), "--key", k, "--out", str(src / "inside")],   # output inside the input
    ]
    for args in usage:
        p = hsm.run("model", "encrypt", *args)
        assert p.returncode == 64, (args, p.returncode, p.stderr)
        assert p.stderr.startswith("castellan model encrypt: "), p.stderr
    assert not (src / "inside").exists() and not (tmp_path / "x").exists()
    p = hsm.run("model", "shred", str(enc), "--key", k, "--out", str(tmp_path / "x"))
    assert p.returncode == 64
    p = hsm.run("model", "decrypt", "--help")
    assert p.returncode == 0 and "usage: castellan model encrypt" in p.stdout

    p = hsm.run("model", "encrypt", str(tmp_path / "missing"), "--key", k, "--out",
                str(tmp_path / "x"))
    assert p.returncode == 2 and "missing" in p.stderr
    p = hsm.run("model", "decrypt", str(src), "--key", k, "--out", str(tmp_path / "x"))
    assert p.returncode == 2 and "not an encrypted model directory" in p.stderr
    p = hsm.run("model", "decrypt", str(enc), "--key", uri("no-such-key"), "--out",
                str(tmp_path / "x"))
    assert p.returncode == 2, p.stderr
    assert not (tmp_path / "x").exists()


def test_refuses_symlinks_and_special_files(tmp_path, hsm):
    src = tmp_path / "m"
    make_model(src)
    os.symlink("/etc/passwd", src / "weights" / "evil")
    p = hsm.run("model", "encrypt", str(src), "--key", uri("kek1"), "--out",
                str(tmp_path / "enc"))
    assert p.returncode == 1
    assert "weights/evil: a symbolic link" in p.stderr
    assert not (tmp_path / "enc").exists() and no_staging(tmp_path)
    (src / "weights" / "evil").unlink()
    os.mkfifo(src / "pipe")
    p = hsm.run("model", "encrypt", str(src), "--key", uri("kek1"), "--out",
                str(tmp_path / "enc"))
    assert p.returncode == 1 and "pipe: a FIFO" in p.stderr
    assert not (tmp_path / "enc").exists() and no_staging(tmp_path)


def test_shred(tmp_path, hsm, model):
    src, enc, files = model
    k1 = uri("kek1")
    # What an attacker might keep: the ciphertext without the key file, and (the documented
    # limit) a full copy taken before the shred.
    saved = tmp_path / "saved-ciphertext"
    shutil.copytree(enc, saved)
    (saved / ".castellan-model-key").unlink()
    backup = tmp_path / "backup"
    shutil.copytree(enc, backup)

    p = hsm.run("model", "shred", str(enc), "--key", uri("kek2"))
    assert p.returncode == 1
    assert "belongs to kms key kek1, not kek2: not shredding" in p.stderr
    assert (enc / ".castellan-model-key").exists()

    p = hsm.run("model", "shred", str(enc), "--key", k1)
    assert p.returncode == 0, p.stderr
    assert "shredded" in p.stdout
    assert not enc.exists()

    p = hsm.run("model", "decrypt", str(saved), "--key", k1, "--out", str(tmp_path / "o1"))
    assert p.returncode == 2 and "not an encrypted model directory" in p.stderr
    # Another model's key file (same KEK) does not open this ciphertext either.
    other = tmp_path / "other"
    assert hsm.run("model", "encrypt", str(src), "--key", k1, "--out", str(other)).returncode == 0
    shutil.copyfile(other / ".castellan-model-key", saved / ".castellan-model-key")
    p = hsm.run("model", "decrypt", str(saved), "--key", k1, "--out", str(tmp_path / "o2"))
    assert p.returncode == 1
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()

    # The limit: a copy of the key file made elsewhere still decrypts while the KEK exists...
    p = hsm.run("model", "decrypt", str(backup), "--key", k1, "--out", str(tmp_path / "o3"))
    assert p.returncode == 0, p.stderr
    assert tree(tmp_path / "o3") == tree(src)
    # ...and destroying the KEK shreds every copy.
    hsm.destroy("kek1")
    p = hsm.run("model", "decrypt", str(backup), "--key", k1, "--out", str(tmp_path / "o4"))
    assert p.returncode == 2, p.stderr
    assert not (tmp_path / "o4").exists()


def test_key_by_name_from_config(tmp_path, hsm):
    """--key NAME through the configuration's kms section (keys made with `castellan kms
    create`); an EC key is refused; `castellan kms destroy` makes the model unrecoverable."""
    (tmp_path / "pin").write_text(PIN + "\n")
    cfg = tmp_path / "castellan.yaml"
    cfg.write_text(f"""listen:
  address: 127.0.0.1
  port: 18443
  tls:
    enabled: false
admin:
  port: 0
upstreams:
  - name: u
    url: http://127.0.0.1:9/
models:
  - name: m
    upstream: u
kms:
  backend: pkcs11
  module: {MODULE}
  token: castellan
  pin_file: {tmp_path / 'pin'}
  softhsm2_conf: {hsm.env['SOFTHSM2_CONF']}
""")
    c = ["-c", str(cfg)]
    assert hsm.run("kms", *c, "create", "model-kek", "--type", "aes-256").returncode == 0
    assert hsm.run("kms", *c, "create", "signer", "--type", "ec-p256").returncode == 0
    src = tmp_path / "m"
    make_model(src)
    p = hsm.run("model", "encrypt", str(src), "--key", "signer", *c, "--out", str(tmp_path / "x"))
    assert p.returncode == 1 and "needs an aes-256 key" in p.stderr
    assert not (tmp_path / "x").exists()
    p = hsm.run("model", "encrypt", str(src), "--key", "no-such", *c, "--out", str(tmp_path / "x"))
    assert p.returncode == 2
    enc, out = tmp_path / "enc", tmp_path / "out"
    p = hsm.run("model", "encrypt", str(src), "--key", "model-kek", *c, "--out", str(enc))
    assert p.returncode == 0, p.stderr
    assert json.loads((enc / ".castellan-model-key").read_text())["kek"]["name"] == "model-kek"
    p = hsm.run("model", "decrypt", str(enc), "--key", "model-kek", *c, "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert tree(out) == tree(src)
    assert hsm.run("kms", *c, "destroy", "model-kek").returncode == 0
    p = hsm.run("model", "decrypt", str(enc), "--key", "model-kek", *c, "--out",
                str(tmp_path / "out2"))
    assert p.returncode == 2 and not (tmp_path / "out2").exists()
