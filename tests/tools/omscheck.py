#!/usr/bin/python3
"""omscheck: an independent OMS (OpenSSF Model Signing v1.0) bundle verifier for the tests.

It shares no code with castellan and follows model_signing's (sigstore/model-transparency)
verification logic, written from its sources, with python3-cryptography:

  - bundle: mediaType application/vnd.dev.sigstore.bundle.v0.3+json; publicKey (hint and/or
    rawBytes), x509CertificateChain or certificate; a DSSE envelope;
  - key method: hint = hex SHA-256 of the PEM SubjectPublicKeyInfo of the given key; a hint that
    differs is a "Key mismatch"; ECDSA over the PAE with SHA-256/384/512 by curve size
    (P-256/384/521; Ed25519 too, which castellan also signs with);
  - certificate method: each certificate signed by the next one, the last by a certificate of
    the CA file, validity checked at the leaf's not_valid_before time, leaf KeyUsage
    digital_signature or ExtendedKeyUsage code signing (cryptography 38 has no path builder,
    so the chain is walked here in order);
  - PAE = "DSSEv1 <len(type)> <type> <len(payload)> <payload>";
  - statement: payloadType application/vnd.in-toto+json, _type in-toto Statement v1, exactly one
    subject, predicateType https://model_signing/signature/v1.0;
  - root: SHA-256 over the concatenated raw resource digests in predicate order must equal
    subject[0].digest.sha256 ("Manifest is inconsistent");
  - model: hashed with the serialization parameters from the bundle ("files" or "shards",
    sha256 or blake2b), ignoring the bundle's ignore_paths, the top-level git paths, the
    caller's --ignore paths and the bundle file itself; missing, extra (unless
    --ignore-unsigned-files) and modified files are reported.

One deliberate difference: shard names are split on their last two ':' (OMS 6.3.2), where
model_signing requires exactly two colons.

Usage: omscheck.py MODEL --sig BUNDLE (--key PUB.pem | --ca CA.pem) [--ignore PATH]...
                   [--ignore-unsigned-files] [--print-root]
Exit status: 0 verified, 1 not verified (reasons on stderr), 2 usage or unreadable input.
As a module: verify(model, sig, key=None, ca=None, ignore=(), ignore_unsigned=False)
returns (ok, reasons, info).
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import pathlib
import re
import stat
import sys

from cryptography import exceptions, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
CHUNK = 1 << 20


class Failure(Exception):
    pass


def pae(payload: bytes) -> bytes:
    return b" ".join([f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)}".encode(),
                      payload])


def b64(s: str) -> bytes:
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def load_public_key(path):
    text = open(path, "rb").read()
    m = re.search(rb"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", text, re.S)
    if m:
        return serialization.load_pem_public_key(m.group(0))
    m = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    if m:
        return x509.load_pem_x509_certificate(m.group(0)).public_key()
    raise Failure(f"{path}: no PEM public key")


def key_hint(pub) -> str:
    pem = pub.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def verify_dsse(pub, sig: bytes, payload: bytes):
    data = pae(payload)
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            size = pub.curve.key_size
            h = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}.get(size)
            if h is None:
                raise Failure(f"unsupported curve {pub.curve.name}")
            pub.verify(sig, data, ec.ECDSA(h))
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(sig, data)
        else:
            raise Failure("unsupported key type")
    except exceptions.InvalidSignature:
        raise Failure("the signature does not verify") from None


def cert_signed_by(cert, issuer_key):
    try:
        if isinstance(issuer_key, rsa.RSAPublicKey):
            issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                              cert.signature_hash_algorithm)
        elif isinstance(issuer_key, ec.EllipticCurvePublicKey):
            issuer_key.verify(cert.signature, cert.tbs_certificate_bytes,
                              ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(issuer_key, ed25519.Ed25519PublicKey):
            issuer_key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
        return True
    except exceptions.InvalidSignature:
        return False


def check_chain(chain, ca_path):
    """chain: leaf first. Walk leaf -> ... -> a CA-file certificate, at leaf not-before."""
    anchors = [x509.load_pem_x509_certificate(m.group(0)) for m in re.finditer(
        rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
        open(ca_path, "rb").read(), re.S)]
    if not anchors:
        raise Failure(f"{ca_path}: no certificate")
    when = chain[0].not_valid_before
    anchor_der = {a.public_bytes(serialization.Encoding.DER) for a in anchors}
    for i, cert in enumerate(chain):
        if not (cert.not_valid_before <= when <= cert.not_valid_after):
            raise Failure(f"certificate {i} not valid at {when}")
        if cert.public_bytes(serialization.Encoding.DER) in anchor_der:
            break  # reached a trust anchor (model_signing's store: any given cert)
        issuers = [a for a in anchors if a.subject == cert.issuer and
                   cert_signed_by(cert, a.public_key())]
        if issuers:
            a = issuers[0]
            if not (a.not_valid_before <= when <= a.not_valid_after):
                raise Failure("the CA certificate is not valid at the leaf's not-before time")
            break
        if i + 1 >= len(chain) or not cert_signed_by(cert, chain[i + 1].public_key()):
            raise Failure(f"certificate {i} is not issued by the next one nor by the CA")
    else:
        raise Failure("the chain does not end at the CA")
    leaf = chain[0]
    ok = False
    try:
        ok = leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    except x509.ExtensionNotFound:
        pass
    if not ok:
        try:
            ok = x509.oid.ExtendedKeyUsageOID.CODE_SIGNING in \
                leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            pass
    if not ok:
        raise Failure("the signing certificate has no digital_signature / code signing usage")


def digest_range(path, algo, start=0, end=None):
    h = hashlib.sha256() if algo == "sha256" else hashlib.blake2b()
    with open(path, "rb") as f:
        f.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            data = f.read(CHUNK if left is None else min(CHUNK, left))
            if not data:
                break
            h.update(data)
            if left is not None:
                left -= len(data)
    if left not in (None, 0):
        raise Failure(f"{path}: shorter than signed")
    return h.hexdigest()


def model_files(model, ignores, allow_symlinks):
    """Model-relative POSIX path -> absolute path (a single file is '.')."""
    root = pathlib.Path(model)
    if root.is_symlink() and not allow_symlinks:
        raise Failure(f"{model} is a symlink")
    if root.is_file():
        return {".": str(root)}
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = pathlib.PurePosixPath(os.path.relpath(dirpath, root))
        for name in sorted(dirnames + filenames):
            rel = pathlib.PurePosixPath(name) if str(rel_dir) == "." else rel_dir / name
            if any(rel == p or p in rel.parents for p in ignores):
                if name in dirnames:
                    dirnames.remove(name)
                continue
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                if not allow_symlinks:
                    raise Failure(f"Cannot use '{full}' because it is a symlink.")
                if name in dirnames:
                    raise Failure(f"symlink to a directory: {full}")
                out[str(rel)] = full
            elif stat.S_ISREG(st.st_mode):
                out[str(rel)] = full
            elif not stat.S_ISDIR(st.st_mode):
                raise Failure(f"{full} is not a regular file or directory")
    return out


def verify(model, sig, key=None, ca=None, ignore=(), ignore_unsigned=False):
    reasons, info = [], {}
    try:
        bundle = json.loads(open(sig, "rb").read())
        if bundle.get("mediaType") != MEDIA_TYPE:
            raise Failure(f"media type {bundle.get('mediaType')}")
        vm = bundle["verificationMaterial"]
        env = bundle["dsseEnvelope"]
        payload = b64(env["payload"])
        sigs = [b64(s["sig"]) for s in env["signatures"]]
        info["payload"] = payload
        if "publicKey" in vm:
            info["method"] = "key"
            if key is None:
                raise Failure("key bundle: need a key")
            pub = load_public_key(key)
            hint = vm["publicKey"].get("hint")
            info["hint"] = hint
            if hint and hint != key_hint(pub):
                raise Failure("Key mismatch: the public key hash in the signature's "
                              "verification material does not match the provided key")
            if vm.get("tlogEntries") not in (None, []):
                raise Failure("key bundle with tlog entries")
        elif "x509CertificateChain" in vm:
            info["method"] = "certificate"
            if ca is None:
                raise Failure("certificate bundle: need a CA")
            chain = [x509.load_der_x509_certificate(b64(c["rawBytes"]))
                     for c in vm["x509CertificateChain"]["certificates"]]
            check_chain(chain, ca)
            pub = chain[0].public_key()
        else:
            raise Failure("keyless sigstore bundles are not checked here")
        verify_dsse(pub, sigs[0], payload)
        if env["payloadType"] != PAYLOAD_TYPE:
            raise Failure(f"payload type {env['payloadType']}")
        st = json.loads(payload)
        if st["_type"] != STATEMENT_TYPE:
            raise Failure(f"statement type {st['_type']}")
        if st["predicateType"] != PREDICATE_TYPE:
            raise Failure(f"predicate type {st['predicateType']}")
        if len(st["subject"]) != 1:
            raise Failure("expected one subject")
        root = st["subject"][0]["digest"]["sha256"]
        info["root"], info["subject"] = root, st["subject"][0]["name"]
        pred = st["predicate"]
        ser = pred["serialization"]
        method, algo = ser["method"], ser["hash_type"]
        if method not in ("files", "shards") or algo not in ("sha256", "blake2b"):
            raise Failure(f"unsupported serialization {method}/{algo}")
        shard = int(ser["shard_size"]) if method == "shards" else None
        info["serialization"] = ser
        h = hashlib.sha256()
        expected = {}
        for r in pred["resources"]:
            alg_ok = r["algorithm"] == algo or (
                method == "shards" and r["algorithm"] == f"{algo}-sharded-{shard}")
            if not alg_ok:
                raise Failure(f"resource algorithm {r['algorithm']}")
            h.update(bytes.fromhex(r["digest"]))
            name = r["name"]
            if method == "files":
                k = str(pathlib.PurePosixPath(name))
            else:
                p, s, e = name.rsplit(":", 2)
                k = (str(pathlib.PurePosixPath(p)), int(s), int(e))
            expected[k] = r["digest"]
        if h.hexdigest() != root:
            raise Failure(f"Manifest is inconsistent. Root digest is {root}, but the "
                          f"included resources hash to {h.hexdigest()}")
        info["resources"] = [r["name"] for r in pred["resources"]]
        ignores = {pathlib.PurePosixPath(p) for p in GIT_PATHS}
        ignores |= {pathlib.PurePosixPath(p) for p in ser.get("ignore_paths", [])}
        ignores |= {pathlib.PurePosixPath(p) for p in ignore}
        m_real, s_real = os.path.realpath(model), os.path.realpath(sig)
        if os.path.isdir(m_real) and s_real.startswith(m_real + os.sep):
            ignores.add(pathlib.PurePosixPath(os.path.relpath(s_real, m_real)))
        files = model_files(model, ignores, ser["allow_symlinks"])
        actual = {}
        for rel, full in files.items():
            if method == "files":
                actual[rel] = full
            else:
                size = os.path.getsize(full)
                for start in range(0, size, shard):
                    actual[(rel, start, min(start + shard, size))] = full
        for k in expected:
            if k not in actual:
                reasons.append(f"missing {k if method == 'files' else k[0]}")
        for k in actual:
            if k not in expected and not ignore_unsigned:
                reasons.append(f"extra {k if method == 'files' else k[0]}")
        for k, want in expected.items():
            if k in actual:
                got = digest_range(actual[k], algo) if method == "files" else \
                    digest_range(actual[k], algo, k[1], k[2])
                if got != want:
                    reasons.append(f"modified {k if method == 'files' else k[0]}")
    except Failure as e:
        reasons.append(str(e))
    except (KeyError, ValueError, TypeError) as e:
        reasons.append(f"malformed bundle: {type(e).__name__}: {e}")
    return (not reasons, sorted(set(reasons)), info)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--sig", required=True)
    ap.add_argument("--key")
    ap.add_argument("--ca")
    ap.add_argument("--ignore", action="append", default=[])
    ap.add_argument("--ignore-unsigned-files", action="store_true")
    ap.add_argument("--print-root", action="store_true")
    a = ap.parse_args()
    if (a.key is None) == (a.ca is None):
        ap.error("give exactly one of --key and --ca")
    try:
        ok, reasons, info = verify(a.model, a.sig, a.key, a.ca, a.ignore,
                                   a.ignore_unsigned_files)
    except OSError as e:
        print(f"omscheck: {e}", file=sys.stderr)
        return 2
    if a.print_root and "root" in info:
        print(info["root"])
    for r in reasons:
        print(f"omscheck: {r}", file=sys.stderr)
    if ok:
        print("omscheck: verified")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
