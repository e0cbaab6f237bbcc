"""`castellan scan` on ONNX models generated here with Debian's python3-onnx.

A benign model (internal initializers) and one saved with real external data scan clean;
external data locations that escape the model directory (relative traversal, absolute,
"a/../../b", a symbolic link or a hard link to a file outside, offset + length past the end)
are flagged with the rule that names them, wherever the tensor sits (initializer, sparse
initializer, a Constant node's attribute, an If subgraph); the directory checks run inside
the scanner's confined child process, which is how the CLI always scans. Truncated models are
never clean. Malicious models are only serialized, never loaded or checked with onnx.
"""
import json
import os
import subprocess
import zipfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

CASTELLAN = os.environ.get("CASTELLAN_BIN", "castellan")
OPSET = [helper.make_opsetid("", 13)]
X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])
Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])


def scan(*args):
    p = subprocess.run([CASTELLAN, "scan", "--format", "json", *args], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, json.loads(p.stdout) if p.stdout else None, p.stderr


def weight(name="W"):
    return numpy_helper.from_array(np.array([1.0, 2.0], dtype=np.float32), name)


def external(t, location, **extra):
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location)] + sorted(extra.items()):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def model(init=(), nodes=None, sparse=()):
    nodes = nodes or [helper.make_node("Add", ["X", "W"], ["Y"])]
    g = helper.make_graph(nodes, "g", [X], [Y], list(init), sparse_initializer=list(sparse))
    return helper.make_model(g, opset_imports=OPSET)


def findings(report, path):
    e = next(e for e in report["entries"] if e["path"] == path)
    return e, {(f["rule"], f["severity"]) for f in e["findings"]}


def test_benign_internal(tmp_path):
    p = tmp_path / "model.onnx"
    onnx.save(model([weight()]), str(p))
    code, rep, err = scan(str(p))
    assert code == 0, (rep, err)
    e, f = findings(rep, str(p))
    assert e["format"] == "onnx" and e["status"] == "clean" and f == set()


def test_benign_external_data(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    onnx.save_model(model([weight("W"), weight("V")]), str(d / "model.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (d / "weights.bin").stat().st_size >= 16
    code, rep, err = scan(str(d / "model.onnx"))
    assert code == 0, (rep, err)
    e, f = findings(rep, str(d / "model.onnx"))
    assert e["format"] == "onnx" and e["status"] == "clean"
    assert f == {("onnx.external_data", "info")}
    assert e["findings"][0]["subject"] == "weights.bin"
    # From the model's own directory (a relative path without a slash) too.
    p = subprocess.run([CASTELLAN, "scan", "model.onnx"], cwd=str(d), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_directory_with_external_data(tmp_path):
    """Scanning the model's directory: the external data file is raw tensor bytes, known as
    such once the model names it; a pickle under that name, or a file named through a
    traversal, is judged on its own."""
    d = tmp_path / "m"
    d.mkdir()
    onnx.save_model(model([weight("W")]), str(d / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    code, rep, err = scan(str(d))
    assert code == 0, (rep, err)
    e, _ = findings(rep, str(d / "weights.bin"))
    assert e["format"] == "onnx-external-data" and e["status"] == "clean"
    # a pickle where the weights should be is still a pickle
    (d / "weights.bin").write_bytes(b"cos\nsystem\n(S'id'\ntR.")
    code, rep, _ = scan(str(d))
    assert code == 1
    e, f = findings(rep, str(d / "weights.bin"))
    assert e["format"] == "pickle" and ("pickle.global.dangerous", "critical") in f
    # a file no clean location names stays unrecognised
    (d / "weights.bin").write_bytes(bytes(range(256)))
    (d / "other.bin").write_bytes(bytes(range(255, -1, -1)))
    code, rep, _ = scan(str(d))
    assert code == 2
    e, _ = findings(rep, str(d / "other.bin"))
    assert e["format"] == "unknown" and e["status"] == "incomplete"


def case_model(kind, d):
    """Writes d/model.onnx (and what it points at) for an attack; returns the rule expected."""
    if kind in ("traversal", "absolute", "middle"):
        loc = {"traversal": "../../etc/passwd", "absolute": "/etc/passwd",
               "middle": "a/../../b"}[kind]
        m = model([external(weight(), loc)])
    elif kind == "symlink":
        os.symlink("/etc/passwd", d / "weights.bin")
        m = model([external(weight(), "weights.bin")])
    elif kind == "hardlink":
        outside = d.parent / "secret"
        outside.write_bytes(b"s" * 64)
        os.link(outside, d / "weights.bin")
        m = model([external(weight(), "weights.bin", offset="0", length="8")])
    elif kind == "out_of_bounds":
        (d / "weights.bin").write_bytes(b"w" * 8)
        m = model([external(weight(), "weights.bin", offset="4", length="8")])
    elif kind == "sparse":
        values = external(weight("S_values"), "../../../etc/shadow")
        indices = numpy_helper.from_array(np.array([1, 0], dtype=np.int64), "S_indices")
        m = model([weight()], sparse=[helper.make_sparse_tensor(values, indices, [2])])
    elif kind == "if_subgraph":
        branch = helper.make_graph([helper.make_node("Identity", ["K"], ["Z"])], "b", [],
                                   [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [2])],
                                   [external(weight("K"), "../outside.bin")])
        plain = helper.make_graph([helper.make_node("Identity", ["X"], ["Z"])], "p", [],
                                  [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [2])])
        cond = helper.make_tensor_value_info("C", TensorProto.BOOL, [])
        node = helper.make_node("If", ["C"], ["Y"], then_branch=branch, else_branch=plain)
        m = helper.make_model(helper.make_graph([node], "g", [cond, X], [Y]),
                              opset_imports=OPSET)
    elif kind == "constant":
        c = helper.make_node("Constant", [], ["W"], value=external(weight(), "/etc/hostname"))
        m = model(nodes=[c, helper.make_node("Add", ["X", "W"], ["Y"])])
    onnx.save(m, str(d / "model.onnx"))
    return {"traversal": "onnx.external_data.traversal", "middle": "onnx.external_data.traversal",
            "absolute": "onnx.external_data.absolute", "symlink": "onnx.external_data.symlink",
            "hardlink": "onnx.external_data.hardlink",
            "out_of_bounds": "onnx.external_data.out_of_bounds",
            "sparse": "onnx.external_data.traversal",
            "if_subgraph": "onnx.external_data.traversal",
            "constant": "onnx.external_data.absolute"}[kind]


@pytest.mark.parametrize("kind", ["traversal", "absolute", "middle", "symlink", "hardlink",
                                  "out_of_bounds", "sparse", "if_subgraph", "constant"])
def test_escapes_flagged(tmp_path, kind):
    d = tmp_path / "m"
    d.mkdir()
    rule = case_model(kind, d)
    path = str(d / "model.onnx")
    code, rep, err = scan(path)
    assert code == 1, (rep, err)
    e, f = findings(rep, path)
    assert e["format"] == "onnx" and e["status"] == "flagged" and e["complete"]
    assert (rule, "high") in f, f
    assert ("onnx.external_data", "info") in f
    # SARIF names the rule as well.
    p = subprocess.run([CASTELLAN, "scan", "--format", "sarif", path], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1
    assert rule in [r["ruleId"] for r in json.loads(p.stdout)["runs"][0]["results"]]


def test_missing_file(tmp_path):
    p = tmp_path / "model.onnx"
    onnx.save(model([external(weight(), "nothere.bin")]), str(p))
    code, rep, _ = scan(str(p))
    assert code == 1
    assert ("onnx.external_data.missing", "medium") in findings(rep, str(p))[1]


def test_archive_member_static_only(tmp_path):
    """Inside a zip the directory cannot be checked: locations are checked statically."""
    z = tmp_path / "models.zip"
    good = model([external(weight(), "weights.bin")]).SerializeToString()
    bad = model([external(weight(), "../../etc/passwd")]).SerializeToString()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("good.onnx", good)
        zf.writestr("bad.onnx", bad)
    code, rep, _ = scan(str(z))
    assert code == 1
    e, f = findings(rep, str(z) + "!good.onnx")
    assert e["format"] == "onnx" and e["status"] == "clean"
    assert f == {("onnx.external_data", "info"), ("onnx.external_data.unchecked", "info")}
    e, f = findings(rep, str(z) + "!bad.onnx")
    assert ("onnx.external_data.traversal", "high") in f


def test_truncated_never_clean(tmp_path):
    whole = model([weight()], sparse=[]).SerializeToString()
    one = tmp_path / "truncated.onnx"
    one.write_bytes(whole[:len(whole) - 3])
    code, rep, _ = scan(str(one))
    assert code == 2, rep
    e, _ = findings(rep, str(one))
    assert e["format"] == "onnx" and not e["complete"]
    # Every prefix: incomplete (as ONNX, or as an unrecognised file), never clean.
    d = tmp_path / "prefixes"
    d.mkdir()
    for n in range(1, len(whole)):
        (d / ("%04d.onnx" % n)).write_bytes(whole[:n])
    code, rep, _ = scan(str(d))
    assert code == 2
    assert len(rep["entries"]) == len(whole) - 1
    bad = [e["path"] for e in rep["entries"] if e["status"] != "incomplete"]
    assert not bad, bad
