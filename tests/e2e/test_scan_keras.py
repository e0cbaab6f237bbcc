"""`castellan scan` on Keras models made at test time with h5py and zipfile (Keras itself is
not needed and never imported): legacy HDF5 models (benign, Lambda, a module that merely
starts with "keras", truncated and corrupt files), a .keras archive (config.json,
metadata.json, model.weights.h5) benign and with a Lambda or broken JSON, an .h5 inside a
zip, and an .h5 whose user block is a pickle. libhdf5 runs in the scanner's confined child: these runs go through it.
"""
import json
import os
import subprocess
import sys
import zipfile

import pytest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                "keras"))
import make_h5  # noqa: E402

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")


def scan(*paths):
    p = subprocess.run([CASTELLAN, "scan", "--format", "json", *map(str, paths)],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, json.loads(p.stdout) if p.stdout else None, p.stderr


def rules(entry):
    return {(f["rule"], f["severity"]) for f in entry["findings"]}


def only_entry(report):
    assert len(report["entries"]) == 1, report
    return report["entries"][0]


def test_benign_h5(tmp_path):
    for vlen in (False, True):
        f = tmp_path / f"benign_{vlen}.h5"
        make_h5.write_model(f, make_h5.sequential([make_h5.dense(modules=vlen)], modules=vlen),
                            vlen=vlen)
        code, rep, err = scan(f)
        assert code == 0, (rep, err)
        e = only_entry(rep)
        assert e["format"] == "keras-h5" and e["status"] == "clean" and e["complete"]
        assert rules(e) == {("hdf5.keras_model", "info")}


def test_lambda_h5(tmp_path):
    f = tmp_path / "lambda.h5"
    make_h5.write_model(f, make_h5.sequential([make_h5.sequential([make_h5.lambda_layer()],
                                                                  "inner")]))
    code, rep, _ = scan(f)
    assert code == 1
    e = only_entry(rep)
    assert e["status"] == "flagged" and e["complete"]
    assert ("keras.lambda", "critical") in rules(e)
    assert ("keras.serialized_function", "critical") in rules(e)


def test_foreign_module_h5(tmp_path):
    layer = make_h5.dense(modules=True)
    layer["module"] = "kerasevil.layers"
    f = tmp_path / "foreign.h5"
    make_h5.write_model(f, make_h5.sequential([layer], modules=True), vlen=True)
    code, rep, _ = scan(f)
    assert code == 1
    e = only_entry(rep)
    assert [(x["rule"], x["severity"], x["subject"]) for x in e["findings"]
            if x["rule"].startswith("keras.")] == [
        ("keras.foreign_module", "high", "kerasevil.layers.Dense")]


def test_truncated_and_corrupt_h5(tmp_path):
    good = tmp_path / "good.h5"
    make_h5.write_model(good, make_h5.sequential([make_h5.dense()]))
    data = good.read_bytes()
    trunc = tmp_path / "truncated.h5"
    trunc.write_bytes(data[:len(data) // 2])
    code, rep, _ = scan(trunc)
    assert code == 2, rep
    e = only_entry(rep)
    assert e["status"] == "incomplete" and not e["complete"] and e["error"]
    assert rules(e) == {("hdf5.parse_error", "low")}
    # Superblock and root object header overwritten: never clean.
    bad = bytearray(data)
    bad[8:400] = b"\xff" * 392
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(bytes(bad))
    code, rep, _ = scan(corrupt)
    assert code == 2, rep
    assert only_entry(rep)["status"] == "incomplete"


def keras_zip(path, config, weights_dir):
    weights = os.path.join(weights_dir, "model.weights.h5")
    make_h5.write_model(weights, None, training_config=None)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.9.0",
                                                "date_saved": "2025-01-01@00:00:00"}))
        z.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        z.write(weights, "model.weights.h5")


def test_keras_archive(tmp_path):
    seq = make_h5.sequential([make_h5.dense(modules=True)], modules=True)
    benign = tmp_path / "benign.keras"
    keras_zip(benign, seq, tmp_path)
    code, rep, err = scan(benign)
    assert code == 0, (rep, err)
    by_path = {e["path"]: e for e in rep["entries"]}
    assert by_path[str(benign)]["format"] == "keras"
    w = by_path[str(benign) + "!model.weights.h5"]
    assert w["format"] == "hdf5" and w["status"] == "clean"
    assert rules(w) == {("hdf5.no_model_config", "info")}

    evil = tmp_path / "lambda.keras"
    keras_zip(evil, make_h5.sequential([make_h5.lambda_layer()], modules=True), tmp_path)
    code, rep, _ = scan(evil)
    assert code == 1
    top = next(e for e in rep["entries"] if e["path"] == str(evil))
    assert ("keras.lambda", "critical") in rules(top)

    broken = tmp_path / "broken.keras"
    keras_zip(broken, '{"class_name": "Sequential", "config": {', tmp_path)
    code, rep, _ = scan(broken)
    assert code == 1
    top = next(e for e in rep["entries"] if e["path"] == str(broken))
    assert not top["complete"] and ("keras.parse_error", "medium") in rules(top)


def test_h5_inside_zip(tmp_path):
    inner = tmp_path / "model.h5"
    make_h5.write_model(inner, make_h5.sequential([make_h5.lambda_layer()]))
    outer = tmp_path / "bundle.zip"
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(inner, "models/model.h5")
    code, rep, _ = scan(outer)
    assert code == 1
    member = next(e for e in rep["entries"] if e["path"].endswith("!models/model.h5"))
    assert member["format"] == "keras-h5"
    assert ("keras.lambda", "critical") in rules(member)


@pytest.mark.parametrize("module,severity", [("os", "critical"), ("tensorflow.keras.layers",
                                                                    "high")])
def test_deny_list_severity(tmp_path, module, severity):
    fn = {"module": module, "class_name": "function", "config": "system",
          "registered_name": None}
    f = tmp_path / "fn.h5"
    make_h5.write_model(f, make_h5.sequential([make_h5.dense()]), training_config={"loss": fn})
    code, rep, _ = scan(f)
    assert code == 1
    assert ("keras.foreign_module", severity) in rules(only_entry(rep))


def test_userblock_h5(tmp_path):
    """libhdf5 finds a file behind a user block (512, 1024, ... bytes), so the scanner must
    too: a harmless-looking text prefix must not hide a Lambda layer."""
    import h5py
    f = tmp_path / "prefixed.h5"
    plain = tmp_path / "plain.h5"
    make_h5.write_model(plain, make_h5.sequential([make_h5.lambda_layer()]))
    with h5py.File(plain, "r") as src, h5py.File(f, "w", userblock_size=1024) as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
    with open(f, "r+b") as fh:
        fh.write(b"just some text, nothing to see here\n" * 20)
    code, rep, _ = scan(f)
    assert code == 1, rep
    e = only_entry(rep)
    assert e["format"] == "keras-h5"
    assert ("keras.lambda", "critical") in rules(e)


def test_userblock_pickle_polyglot(tmp_path):
    """A pickle in the user block: h5py reads the HDF5 file, pickle.load and torch.load read
    the pickle at byte 0. Both are scanned and the polyglot is flagged."""
    import h5py
    f = tmp_path / "poly.h5"
    plain = tmp_path / "plain.h5"
    make_h5.write_model(plain, make_h5.sequential([make_h5.dense()]))
    with h5py.File(plain, "r") as src, h5py.File(f, "w", userblock_size=512) as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
    with open(f, "r+b") as fh:
        fh.write(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00true\x85R.")
    code, rep, _ = scan(f)
    assert code == 1, rep
    e = only_entry(rep)
    assert e["format"] == "keras-h5"
    assert ("scan.polyglot", "high") in rules(e)
    assert ("pickle.global.dangerous", "critical") in rules(e)


def test_config_json_without_metadata(tmp_path):
    """Keras reads a root config.json even without metadata.json."""
    f = tmp_path / "model.keras"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("config.json", json.dumps(make_h5.sequential([make_h5.lambda_layer()])))
    code, rep, _ = scan(f)
    assert code == 1, rep
    assert ("keras.lambda", "critical") in rules(only_entry(rep))
