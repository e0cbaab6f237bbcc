#!/usr/bin/python3
"""Independent Python verifier for Castellan's tamper-evident log.

Same subcommands, output and exit codes as the Go tool (main.go):

  tlogcheck.py note [--text] VKEY_FILE NOTE_FILE        -> "origin size roothex"
  tlogcheck.py inclusion VKEY_FILE PROOF_FILE LEAF_FILE -> "origin size roothex index"
  tlogcheck.py consistency VKEY_FILE OLD_NOTE NEW_NOTE|- PROOF_FILE
                                                        -> "origin oldsize newsize newroothex"
  tlogcheck.py cosig WITNESS_VKEY_FILE NOTE_FILE        -> timestamp

Exit 0 = verified, 1 = verification failed (one line on stderr), 2 = bad usage,
unreadable file or malformed vkey. Formats: C2SP signed-note, tlog-checkpoint,
tlog-cosignature/v1 (type 0x04), tlog-proof@v1, tlog-witness add-checkpoint.
Merkle verification is written from RFC 9162 sections 2.1.3.2 and 2.1.4.2.
Uses only hashlib, base64 and `cryptography`; shares no code with the C log or
with Go's x/mod. It must never return 0 for input it has not fully verified.
"""
import base64
import hashlib
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_TEXT_FILE = 1 << 20   # notes, proofs, vkeys
MAX_LEAF_FILE = 256 << 20
MAX_PROOF = 64            # hash lines accepted by the parser
MAX_SIGS = 100            # signature lines per note (x/mod's limit; spec minimum 16)
EMPTY_ROOT = hashlib.sha256(b"").digest()
SIG_PREFIX = "\u2014 ".encode()
USAGE = """usage: tlogcheck.py note [--text] VKEY_FILE NOTE_FILE
       tlogcheck.py inclusion VKEY_FILE PROOF_FILE LEAF_FILE
       tlogcheck.py consistency VKEY_FILE OLD_NOTE NEW_NOTE|- PROOF_FILE
       tlogcheck.py cosig WITNESS_VKEY_FILE NOTE_FILE"""


class Fail(Exception):
    """Verification failed: exit 1."""


class Usage(Exception):
    """Bad usage, unreadable file or malformed vkey: exit 2."""


# ---- RFC 6962 / RFC 9162 Merkle tree -------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2. proof is in PATH order (leaf's sibling first)."""
    if any(len(h) != 32 for h in [leaf, root, *proof]) or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, proof, root1, root2):
    """RFC 9162 2.1.4.2, proof in SUBPROOF order. Policy for the cases the RFC
    leaves open: size1 == size2 needs an empty proof and equal roots; size1 == 0
    (root SHA-256("")) is a prefix of every tree, with an empty proof."""
    if any(len(h) != 32 for h in [root1, root2, *proof]) or not 0 <= size1 <= size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0


# ---- strict field parsers --------------------------------------------------

def b64(s):
    """Padded standard base64 (RFC 4648 section 4); raises ValueError."""
    return base64.b64decode(s, validate=True)


def parse_decimal(s):
    """Canonical ASCII decimal, no sign or leading zeros, <= 2^63-1."""
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", s) or int(s) > (1 << 63) - 1:
        raise Fail(f"bad decimal {s!r}")
    return int(s)


def parse_hash(s):
    """Canonical base64 of exactly 32 bytes."""
    try:
        h = b64(s)
    except ValueError:
        h = b""
    if len(h) != 32 or base64.b64encode(h).decode() != s:
        raise Fail(f"bad hash {s!r}")
    return h


def parse_hashes(lines):
    if len(lines) > MAX_PROOF:
        raise Fail(f"proof has {len(lines)} hashes, more than {MAX_PROOF}")
    return [parse_hash(line) for line in lines]


def valid_name(name):
    return name != "" and "+" not in name and not any(c.isspace() for c in name)


def parse_vkey(vkey, sigtype):
    """'name+hexid+base64(sigtype || 32-byte Ed25519 key)' -> (name, id, key)."""
    parts = vkey.split("+", 2)
    try:
        name, idhex, key = parts[0], parts[1], b64(parts[2])
    except (IndexError, ValueError):
        raise Usage("malformed vkey")
    if not valid_name(name) or not re.fullmatch(r"[0-9a-fA-F]{8}", idhex):
        raise Usage("malformed vkey")
    keyid = int(idhex, 16)
    if key[:1] != bytes([sigtype]) or len(key) != 33:
        raise Usage(f"vkey is not a type-0x{sigtype:02x} Ed25519 key")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] != keyid.to_bytes(4, "big"):
        raise Usage("vkey key ID does not match its key")
    return name, keyid, key[1:]


def ed25519_ok(pub, sig, msg):
    if len(sig) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


# ---- signed notes and checkpoints -----------------------------------------

def open_note(msg, known):
    """Verify a C2SP signed note; return its text (bytes, with final newline).
    known maps (name, key id) -> verify(text, sig) -> bool. Lines from unknown
    keys are ignored, a failing known key rejects the note, and at least one
    known key must verify. Repeated lines of one key: only the first counts."""
    try:
        s = msg.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("note: malformed note (not UTF-8)")
    if any(c < " " and c != "\n" for c in s):
        raise Fail("note: malformed note (control character)")
    split = msg.rfind(b"\n\n")
    if split < 0:
        raise Fail("note: malformed note (no blank line)")
    text, sigs = msg[:split + 1], msg[split + 2:]
    if not sigs.endswith(b"\n"):
        raise Fail("note: malformed note (no signature lines)")
    seen, count = set(), 0
    for line in sigs[:-1].split(b"\n"):
        if not line.startswith(SIG_PREFIX):
            raise Fail("note: malformed signature line")
        name, _, enc = line[len(SIG_PREFIX):].decode().partition(" ")
        try:
            sig = b64(enc)
        except ValueError:
            sig = b""
        if not valid_name(name) or len(sig) < 5:
            raise Fail("note: malformed signature line")
        count += 1
        if count > MAX_SIGS:
            raise Fail("note: too many signatures")
        key = (name, int.from_bytes(sig[:4], "big"))
        if key not in known or key in seen:
            continue
        seen.add(key)
        if not known[key](text, sig[4:]):
            raise Fail(f"note: invalid signature for key {name}+{key[1]:08x}")
    if not seen:
        raise Fail("note: no verifiable signatures")
    return text


def parse_checkpoint(text):
    """tlog-checkpoint body -> (origin, size, root); extension lines allowed."""
    lines = text.decode().split("\n")
    if lines.pop() != "":
        raise Fail("checkpoint does not end in newline")
    if len(lines) < 3:
        raise Fail("checkpoint has fewer than 3 lines")
    if "" in lines:
        raise Fail("checkpoint has an empty line")
    size, root = parse_decimal(lines[1]), parse_hash(lines[2])
    if size == 0 and root != EMPTY_ROOT:
        raise Fail('size-0 checkpoint root is not SHA-256("")')
    return lines[0], size, root


def log_verifier(vkey):
    name, keyid, pub = parse_vkey(vkey, 0x01)
    return {(name, keyid): lambda text, sig: ed25519_ok(pub, sig, text)}


def open_checkpoint(vkey, msg):
    return parse_checkpoint(open_note(msg, log_verifier(vkey)))


# ---- files and subcommands ------------------------------------------------

def read_file(path, limit=MAX_TEXT_FILE):
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise Usage(str(e))
    if len(data) > limit:
        raise Fail(f"{path}: larger than {limit} bytes")
    return data


def read_vkey(path):
    try:
        return read_file(path).decode().strip(" \t\r\n")
    except UnicodeDecodeError:
        raise Usage("malformed vkey (not UTF-8)")


def split_block(data, what):
    """Split at the first empty line: (header lines, following note bytes)."""
    i = data.find(b"\n\n")
    if i < 0:
        raise Fail(f"{what}: no empty line before the checkpoint")
    try:
        return data[:i].decode().split("\n"), data[i + 2:]
    except UnicodeDecodeError:
        raise Fail(f"{what}: not UTF-8")


def cmd_note(vkey_file, note_file, text_only):
    vkey, msg = read_vkey(vkey_file), read_file(note_file)
    if text_only:
        return open_note(msg, log_verifier(vkey)).decode()
    origin, size, root = open_checkpoint(vkey, msg)
    return f"{origin} {size} {root.hex()}\n"


def cmd_inclusion(vkey_file, proof_file, leaf_file):
    vkey, data = read_vkey(vkey_file), read_file(proof_file)
    leaf = read_file(leaf_file, MAX_LEAF_FILE)
    lines, msg = split_block(data, "tlog-proof")
    if lines.pop(0) != "c2sp.org/tlog-proof@v1":
        raise Fail("tlog-proof: bad first line")
    if lines and lines[0].startswith("extra "):
        try:  # opaque and unauthenticated: only its encoding is checked
            if not b64(lines.pop(0)[6:]):
                raise ValueError
        except ValueError:
            raise Fail("tlog-proof: bad extra line")
    if not lines or not lines[0].startswith("index "):
        raise Fail("tlog-proof: missing index line")
    index = parse_decimal(lines.pop(0)[6:])
    proof = parse_hashes(lines)
    origin, size, root = open_checkpoint(vkey, msg)
    if index >= size:
        raise Fail(f"index {index} is not below tree size {size}")
    if not verify_inclusion(index, size, leaf_hash(leaf), proof, root):
        raise Fail("inclusion: invalid proof")
    return f"{origin} {size} {root.hex()} {index}\n"


def cmd_consistency(vkey_file, old_file, new_file, proof_file):
    vkey, old_msg, data = read_vkey(vkey_file), read_file(old_file), read_file(proof_file)
    new_msg = None if new_file == "-" else read_file(new_file)
    old = open_checkpoint(vkey, old_msg)
    if data.startswith(b"old "):  # tlog-witness add-checkpoint body
        lines, msg = split_block(data, "add-checkpoint")
        if not re.fullmatch(r"0|[1-9][0-9]{0,18}", lines[0][4:]) or int(lines[0][4:]) != old[1]:
            raise Fail(f"add-checkpoint: {lines[0]!r} does not name OLD_NOTE's size {old[1]}")
        proof = parse_hashes(lines[1:])
        new = open_checkpoint(vkey, msg)
        if new_msg is not None and open_checkpoint(vkey, new_msg) != new:
            raise Fail("NEW_NOTE differs from the checkpoint in PROOF_FILE")
    else:
        if new_msg is None:
            raise Usage("NEW_NOTE may be - only with an add-checkpoint PROOF_FILE")
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise Fail("proof: not UTF-8")
        text = text[:-1] if text.endswith("\n") else text
        proof = parse_hashes(text.split("\n") if text else [])
        new = open_checkpoint(vkey, new_msg)
    if old[0] != new[0]:
        raise Fail(f"origins differ: {old[0]!r} vs {new[0]!r}")
    if old[1] > new[1]:
        raise Fail(f"old size {old[1]} is larger than new size {new[1]}")
    if not verify_consistency(old[1], new[1], proof, old[2], new[2]):
        raise Fail("consistency: invalid proof")
    return f"{new[0]} {old[1]} {new[1]} {new[2].hex()}\n"


def cmd_cosig(vkey_file, note_file):
    vkey, msg = read_vkey(vkey_file), read_file(note_file)
    name, keyid, pub = parse_vkey(vkey, 0x04)
    stamp = []

    def verify(text, sig):  # sig = u64 BE timestamp || Ed25519 signature
        t = int.from_bytes(sig[:8], "big")
        if len(sig) != 72 or t > (1 << 63) - 1:
            return False
        ok = ed25519_ok(pub, sig[8:], f"cosignature/v1\ntime {t}\n".encode() + text)
        stamp.extend([t] if ok else [])
        return ok

    try:
        text = open_note(msg, {(name, keyid): verify})
    except Fail as e:
        raise Fail(f"cosignature: {e}")
    try:
        parse_checkpoint(text)
    except Fail as e:
        raise Fail(f"cosigned {e}")
    return f"{stamp[0]}\n"


def run(argv):
    """Run one subcommand; return its stdout text or raise Fail / Usage."""
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd == "note" and len(args) == 3 and args[0] == "--text":
        return cmd_note(args[1], args[2], True)
    if cmd == "note" and len(args) == 2:
        return cmd_note(*args, False)
    table = {"inclusion": (cmd_inclusion, 3), "consistency": (cmd_consistency, 4),
             "cosig": (cmd_cosig, 2)}
    if cmd in table and len(args) == table[cmd][1]:
        return table[cmd][0](*args)
    raise Usage(USAGE)


def main(argv):
    try:
        sys.stdout.write(run(argv))
        return 0
    except (Fail, Usage) as e:
        msg = str(e).replace("\n", " ") if isinstance(e, Fail) else str(e)
        sys.stderr.write(f"tlogcheck.py: {msg}\n")
        return 1 if isinstance(e, Fail) else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
