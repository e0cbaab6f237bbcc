#!/usr/bin/python3
"""Generates the CloudTrail corpus of the detection benchmark (bench/detect.py) from the public
data sets in ../shared/data/cloudtrail (invictus, Stratus Red Team, OTRF): their records
replicated until the corpus holds SIZE MB of JSON text, each copy with a fresh eventID and
requestID (so deduplication keeps it), its time moved forward and, for IPv4 sources, a
different address. Written as AWS delivers it: gzip'd {"Records":[...]} files of about 4 MB
of JSON in the S3 key layout AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/, and the same
files decompressed under plain/ for tools that do not read gzip. Deterministic (seeded).

usage: bench/detect_gen.py OUTDIR [--size MB]
Writes OUTDIR/gz, OUTDIR/plain and OUTDIR/DONE (the byte counts) last; does nothing when DONE
exists for the same size.
"""
import argparse
import datetime
import gzip
import json
import os
import random
import shutil
import sys
import uuid

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "cloudtrail")
FILE_BYTES = 4 << 20
ACCOUNT = "218007301253"
REGION = "us-east-1"


def templates():
    """Every record of the three data sets, in a fixed order."""
    out = []
    for top, _, files in sorted(os.walk(DATA)):
        for f in sorted(files):
            if not f.endswith(".json"):
                continue
            text = open(os.path.join(top, f), encoding="utf-8").read()
            try:
                doc = json.loads(text)
                recs = doc["Records"] if isinstance(doc, dict) else doc
            except ValueError:
                recs = [json.loads(line) for line in text.splitlines() if line.strip()]
            out.extend(r for r in recs if isinstance(r, dict))
    return out


def parse_time(s):
    return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")


def vary(rec, rng, shift):
    r = dict(rec)
    r["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if "requestID" in r:
        r["requestID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for key in ("eventTime", "@timestamp"):
        if isinstance(r.get(key), str) and len(r[key]) >= 19:
            try:
                t = parse_time(r[key]) + shift
            except ValueError:
                continue
            r[key] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    ip = r.get("sourceIPAddress")
    if isinstance(ip, str) and ip.count(".") == 3 and ip.replace(".", "").isdigit():
        r["sourceIPAddress"] = "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256),
                                                rng.randrange(256), rng.randrange(1, 255))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--size", type=int, default=1024, help="MB of JSON text (default 1024)")
    a = ap.parse_args()
    done = os.path.join(a.outdir, "DONE")
    if os.path.exists(done) and open(done).read().split()[0] == str(a.size):
        return 0
    shutil.rmtree(a.outdir, ignore_errors=True)
    recs = templates()
    rng = random.Random(20230710)
    target = a.size * 1000 * 1000
    total = zbytes = nfiles = nrec = 0
    i = 0
    base = datetime.datetime(2024, 1, 1)
    while total < target:
        when = base + datetime.timedelta(minutes=5 * nfiles)
        day = os.path.join(ACCOUNT, "CloudTrail", REGION, when.strftime("%Y/%m/%d"))
        name = "%s_CloudTrail_%s_%s_%08d.json" % (ACCOUNT, REGION, when.strftime("%Y%m%dT%H%MZ"),
                                                  nfiles)
        parts, size = [], 0
        while size < FILE_BYTES and total + size < target:
            shift = datetime.timedelta(seconds=300 * nfiles + (i % 300))
            text = json.dumps(vary(recs[i % len(recs)], rng, shift), separators=(",", ":"),
                              ensure_ascii=False)
            parts.append(text)
            size += len(text.encode("utf-8")) + 1
            i += 1
        body = ('{"Records":[' + ",".join(parts) + "]}").encode("utf-8")
        for sub in ("gz", "plain"):
            os.makedirs(os.path.join(a.outdir, sub, "AWSLogs", day), exist_ok=True)
        with open(os.path.join(a.outdir, "plain", "AWSLogs", day, name), "wb") as f:
            f.write(body)
        gz = os.path.join(a.outdir, "gz", "AWSLogs", day, name + ".gz")
        with open(gz, "wb") as f:
            f.write(gzip.compress(body, compresslevel=6, mtime=0))
        zbytes += os.path.getsize(gz)
        total += len(body)
        nrec += len(parts)
        nfiles += 1
    with open(done, "w") as f:
        f.write("%d %d %d %d %d\n" % (a.size, nfiles, nrec, total, zbytes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
