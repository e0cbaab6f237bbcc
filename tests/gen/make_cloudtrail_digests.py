#!/usr/bin/python3
"""Writes a CloudTrail bucket tree with log file validation on, as AWS delivers it: gzip'd log
files under AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ and one signed digest file per
hour under AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/, chained by
previousDigestS3Object / previousDigestHashValue / previousDigestSignature.

Digests follow the AWS "CloudTrail digest file structure" page and are signed the way the
"Custom implementations of CloudTrail log file integrity validation" page describes:
SHA256withRSA over "digestEndTime\\nbucket/key\\nhex(SHA-256 of the uncompressed
digest)\\npreviousDigestSignature" ("null" for the first digest), the key's fingerprint being
the hex MD5 of its PKCS#1 DER public key. S3 keeps the signature in object metadata; here it is
written next to the digest as <digest>.sig (hex).

Used by tests/e2e/test_detect_digest.py (import make_tree) and by hand:
    make_cloudtrail_digests.py OUT_DIR [--hours N] [--logs-per-hour N]
writes OUT_DIR/bucket/..., OUT_DIR/key.pem and OUT_DIR/list-public-keys.json.
"""
import argparse
import base64
import datetime as dt
import gzip
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HOUR = dt.timedelta(hours=1)


def new_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def fingerprint(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.PKCS1)
    return hashlib.md5(der).hexdigest()


def write_keys(key, out_dir):
    """key.pem (SubjectPublicKeyInfo) and list-public-keys.json (what the AWS CLI prints)."""
    pub = key.public_key()
    pem = os.path.join(out_dir, "key.pem")
    with open(pem, "wb") as f:
        f.write(pub.public_bytes(serialization.Encoding.PEM,
                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    listing = {"PublicKeyList": [{"ValidityStartTime": 1722384000.0,
                                  "ValidityEndTime": 1724976000.0,
                                  "Value": base64.b64encode(der).decode(),
                                  "Fingerprint": fingerprint(key)}]}
    js = os.path.join(out_dir, "list-public-keys.json")
    with open(js, "w") as f:
        json.dump(listing, f, indent=1)
    return pem, js


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def gz(data):
    return gzip.compress(data, mtime=0)


def sign(key, text):
    return key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()


def write(root, key_path, data):
    path = os.path.join(root, key_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def log_records(account, region, when, n):
    return {"Records": [{
        "eventVersion": "1.09", "eventTime": iso(when - dt.timedelta(seconds=30 + i)),
        "eventSource": "sagemaker.amazonaws.com", "eventName": "ListModels",
        "awsRegion": region, "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "accountId": account,
                         "arn": f"arn:aws:iam::{account}:user/alice"},
        "requestParameters": None, "responseElements": None,
        "eventID": hashlib.sha256(f"{account}{region}{when}{i}".encode()).hexdigest()[:36],
        "eventType": "AwsApiCall", "eventCategory": "Management",
        "recipientAccountId": account} for i in range(n)]}


def make_tree(root, key, *, account="123456789012", region="us-east-1", trail="main-trail",
              bucket="ct-bucket", prefix="", start=dt.datetime(2024, 7, 31, 10, 1, 31),
              hours=4, logs_per_hour=3, empty_hours=(), restart_hours=(), skew=None,
              sidecars=True):
    """Writes the tree under root (the bucket's top) and returns a dict with "digests" and
    "logs": lists of {"key", "path", ...} in delivery order. empty_hours: hours whose digest
    lists no log file (valid: CloudTrail delivers a digest every hour). restart_hours: hours
    whose digest has no previous digest (logging was stopped and started again), the hour
    before them having no digest at all. skew: (hour, seconds) shifting that digest's start
    time (a gap that is not a restart)."""
    pre = prefix.rstrip("/") + "/" if prefix else ""
    digests, logs = [], []
    prev = None
    for h in range(hours):
        t0 = start + h * HOUR
        t1 = t0 + HOUR
        if any(r - 1 == h for r in restart_hours):
            prev = None
            continue
        files = []
        if h not in empty_hours:
            for k in range(logs_per_hour):
                when = t0 + dt.timedelta(minutes=5 + 15 * k)
                uniq = hashlib.sha256(f"{h}-{k}-{region}".encode()).hexdigest()[:16]
                name = f"{account}_CloudTrail_{region}_{when:%Y%m%dT%H%MZ}_{uniq}.json.gz"
                key_path = f"{pre}AWSLogs/{account}/CloudTrail/{region}/{when:%Y/%m/%d}/{name}"
                body = json.dumps(log_records(account, region, when, 2 + k)).encode()
                path = write(root, key_path, gz(body))
                logs.append({"key": key_path, "path": path, "hour": h})
                files.append({"s3Bucket": bucket, "s3Object": key_path,
                              "hashValue": hashlib.sha256(body).hexdigest(),
                              "hashAlgorithm": "SHA-256",
                              "newestEventTime": iso(when - dt.timedelta(seconds=30)),
                              "oldestEventTime": iso(when - dt.timedelta(seconds=35))})
        dstart = t0
        if skew and skew[0] == h:
            dstart = t0 + dt.timedelta(seconds=skew[1])
        dname = (f"{account}_CloudTrail-Digest_{region}_{trail}_{region}_"
                 f"{t1:%Y%m%dT%H%M%SZ}.json.gz")
        dkey = f"{pre}AWSLogs/{account}/CloudTrail-Digest/{region}/{t1:%Y/%m/%d}/{dname}"
        doc = {"awsAccountId": account, "digestStartTime": iso(dstart),
               "digestEndTime": iso(t1), "digestS3Bucket": bucket, "digestS3Object": dkey,
               "digestPublicKeyFingerprint": fingerprint(key),
               "digestSignatureAlgorithm": "SHA256withRSA",
               "newestEventTime": files[-1]["newestEventTime"] if files else None,
               "oldestEventTime": files[0]["oldestEventTime"] if files else None,
               "previousDigestS3Bucket": bucket if prev else None,
               "previousDigestS3Object": prev["key"] if prev else None,
               "previousDigestHashValue": prev["sha"] if prev else None,
               "previousDigestHashAlgorithm": "SHA-256" if prev else None,
               "previousDigestSignature": prev["sig"] if prev else None,
               "logFiles": files}
        body = json.dumps(doc).encode()
        sha = hashlib.sha256(body).hexdigest()
        sig = sign(key, f"{iso(t1)}\n{bucket}/{dkey}\n{sha}\n"
                        f"{prev['sig'] if prev else 'null'}")
        path = write(root, dkey, gz(body))
        if sidecars:
            with open(path + ".sig", "w") as f:
                f.write(sig + "\n")
        prev = {"key": dkey, "path": path, "sha": sha, "sig": sig, "doc": doc, "hour": h}
        digests.append(prev)
    return {"digests": digests, "logs": logs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--hours", type=int, default=4)
    ap.add_argument("--logs-per-hour", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    key = new_key()
    write_keys(key, a.out)
    info = make_tree(os.path.join(a.out, "bucket"), key, hours=a.hours,
                     logs_per_hour=a.logs_per_hour)
    print(f"{len(info['digests'])} digest files, {len(info['logs'])} log files")


if __name__ == "__main__":
    main()
