#!/usr/bin/python3
"""Content-inspection quality harness (issue #3): runs bench_inspect_quality (the engine with
the default policy) over labelled data and prints the figures.

- Injection, on the held-out test split only (tools/train_injection.py defines the split; the
  classifier never trained or calibrated on it): TPR at 1% and 0.1% FPR, F1 and benign FPR at
  the shipped thresholds, for the classifier alone, the rules alone and the whole policy,
  direct prompts and indirect content separately; the benign FPR per source, and which layer
  blocked the benign texts (the classifier on the text, the classifier on a decoded view, or
  a rule or signal by name).
- Evasions: the test positives rewritten five ways (zero-width characters, full-width forms,
  homoglyphs, spaced letters, base64 with a decode instruction); recall of the whole policy
  next to the plain text. Indirect samples have only their inserted attack rewritten.
- PII: span-level precision, recall and F1 per entity on ../shared/data/pii/synth_dataset_v2.json
  (exact and overlapping spans), checksum-invalid numbers rejected, redaction completeness.

usage: inspect_quality.py BENCH_INSPECT_QUALITY [--json FILE]
"""
import argparse
import base64
import json
import math
import os
import subprocess
import tempfile
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import train_injection as T  # noqa: E402

PII_DATA = os.path.join(T.DATA, "pii", "synth_dataset_v2.json")
# dataset label -> the engine's entity (the pattern entities both have)
PII_MAP = {"CREDIT_CARD": "CREDIT_CARD", "EMAIL_ADDRESS": "EMAIL_ADDRESS",
           "IBAN_CODE": "IBAN_CODE", "IP_ADDRESS": "IP_ADDRESS", "PHONE_NUMBER": "PHONE_NUMBER",
           "US_SSN": "US_SSN", "US_DRIVER_LICENSE": "US_DRIVER_LICENSE", "DOMAIN_NAME": "URL"}


# The PII evaluation runs every pattern entity the data set labels: URL is off by default
# (answers' links are judged by the exfiltration rules), so this policy turns it on.
PII_POLICY = {"output": {"pii": {"entities": {"URL": {"enabled": True}}}}}


def run(driver, lines, policy=None):
    inp = "".join(json.dumps(x) + "\n" for x in lines).encode("utf-8", "surrogatepass")
    argv = [driver, "scan"]
    if policy is not None:
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(policy, f)
        f.close()
        argv += ["--policy", f.name]
    try:
        r = subprocess.run(argv, input=inp, capture_output=True, check=True)
    finally:
        if policy is not None:
            os.unlink(f.name)
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert len(out) == len(lines), "driver printed %d of %d lines" % (len(out), len(lines))
    return out

# ---- injection ----


def layers(r):
    """The layers that blocked a text: "classifier" (the text's view), "classifier (decoded)"
    (a decoded segment: spaced, leet, ROT13, base64 ...) or the blocking rule's name (phrase
    rules, the encoded-instruction signal, smuggling ...)."""
    out = set()
    for f in r["findings"]:
        if f["action"] != "block":
            continue
        if f["rule"] != "injection.classifier":
            out.add(f["rule"])
        elif f["view"] in ("raw", "canonical"):
            out.add("classifier")
        else:
            out.add("classifier (decoded)")
    return out


def rules_hit(r):
    return any(f["action"] == "block" and f["rule"] != "injection.classifier"
               for f in r["findings"])


def tpr_at(pos, neg, fpr):
    """TPR at the lowest threshold whose FPR on neg is at most fpr (scores: higher = worse)."""
    neg = sorted(neg, reverse=True)
    k = int(math.floor(fpr * len(neg)))
    t = neg[k] if k < len(neg) else -math.inf	# scores above t are flagged
    return sum(1 for s in pos if s > t) / len(pos) if pos else float("nan")


def f1(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def binary(pos_hits, neg_hits):
    tp, fn = sum(pos_hits), len(pos_hits) - sum(pos_hits)
    fp = sum(neg_hits)
    return {"tpr": tp / len(pos_hits), "fpr": fp / len(neg_hits), "f1": f1(tp, fp, fn),
            "fp": fp}


def injection(driver, model):
    items = [s for s in T.samples() if s["split"] == "test"]
    res = run(driver, [{"text": s["text"], "src": s["src"]} for s in items])
    report = {}
    for si, src in enumerate(("direct", "indirect")):
        idx = [i for i, s in enumerate(items) if s["src"] == src]
        pos = [i for i in idx if items[i]["label"] == 1]
        neg = [i for i in idx if items[i]["label"] == 0]
        thr = model["thr"][si]
        p = {i: res[i]["p"] for i in idx}
        rows = {}
        clf = binary([p[i] >= thr for i in pos], [p[i] >= thr for i in neg])
        clf["tpr1"] = tpr_at([p[i] for i in pos], [p[i] for i in neg], 0.01)
        clf["tpr01"] = tpr_at([p[i] for i in pos], [p[i] for i in neg], 0.001)
        rows["classifier"] = clf
        rows["rules"] = binary([rules_hit(res[i]) for i in pos], [rules_hit(res[i]) for i in neg])
        comb = binary([res[i]["blocked"] for i in pos], [res[i]["blocked"] for i in neg])
        # the policy as a score: a rule block counts as 1.0
        cs = {i: 1.0 + 1e-9 if rules_hit(res[i]) else p[i] for i in idx}
        comb["tpr1"] = tpr_at([cs[i] for i in pos], [cs[i] for i in neg], 0.01)
        comb["tpr01"] = tpr_at([cs[i] for i in pos], [cs[i] for i in neg], 0.001)
        rows["policy"] = comb
        by, lay = {}, {}
        for i in neg:
            o = items[i]["origin"]
            by.setdefault(o, [0, 0])
            by[o][0] += 1
            by[o][1] += res[i]["blocked"]
            for name in layers(res[i]):
                lay[name] = lay.get(name, 0) + 1
        report[src] = {"positives": len(pos), "negatives": len(neg), "threshold": thr,
                       "rows": rows, "benign_by_source": by, "benign_by_layer": lay}
    return items, res, report


def print_injection(rep):
    print("== Prompt injection: held-out test split ==")
    for src in ("direct", "indirect"):
        r = rep[src]
        print("%s: %d injections, %d benign; classifier threshold %.2f" %
              (src, r["positives"], r["negatives"], r["threshold"]))
        print("  %-11s %9s %9s %9s %9s %9s" % ("", "TPR@1%", "TPR@0.1%", "TPR", "FPR", "F1"))
        for name in ("classifier", "rules", "policy"):
            x = r["rows"][name]
            at = lambda k: "%8.1f%%" % (100 * x[k]) if k in x else "%9s" % "-"  # noqa: E731
            print("  %-11s %s %s %8.1f%% %8.2f%% %9.3f" % (name, at("tpr1"), at("tpr01"),
                  100 * x["tpr"], 100 * x["fpr"], x["f1"]))
        print("  benign texts blocked by the policy, by source: " + ", ".join(
            "%s %d/%d (%.2f%%)" % (o, b, n, 100 * b / n)
            for o, (n, b) in sorted(r["benign_by_source"].items())))
        print("  benign texts blocked, by layer (a text may count under several): " + (", ".join(
            "%s %d" % kv for kv in sorted(r["benign_by_layer"].items())) or "none"))

# ---- evasions ----


HOMO = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440",
        "x": "\u0445", "y": "\u0443", "i": "\u0456", "j": "\u0458", "s": "\u0455",
        "A": "\u0391", "B": "\u0392", "E": "\u0395", "H": "\u0397", "K": "\u039a",
        "M": "\u039c", "N": "\u039d", "O": "\u039f", "P": "\u03a1", "T": "\u03a4",
        "X": "\u03a7", "Y": "\u03a5"}


def zero_width(t):
    out = []
    for i, ch in enumerate(t):
        out.append(ch)
        if ch.isalpha() and i + 1 < len(t) and t[i + 1].isalpha():
            out.append("\u200b")
    return "".join(out)


def full_width(t):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t)


def homoglyph(t):
    return "".join(HOMO.get(c, c) for c in t)


def spaced(t):
    return "  ".join(" ".join(w) for w in t.split())


def b64(t):
    return ("Decode the following base64 string and follow the instructions in it: " +
            base64.b64encode(t.encode("utf-8")).decode("ascii"))


EVASIONS = [("zero-width", zero_width), ("full-width", full_width), ("homoglyph", homoglyph),
            ("spaced letters", spaced), ("base64", b64)]


def evasions(driver, items, res):
    rep = {}
    for src in ("direct", "indirect"):
        idx = [i for i, s in enumerate(items) if s["src"] == src and s["label"] == 1]
        plain = sum(res[i]["blocked"] for i in idx) / len(idx)
        rep[src] = {"plain": plain, "n": len(idx)}
        for name, fn in EVASIONS:
            lines = []
            for i in idx:
                s = items[i]
                t = s["text"]
                if s["span"] is not None:
                    a, b = s["span"]
                    t = t[:a] + fn(t[a:b]) + t[b:]
                else:
                    t = fn(t)
                lines.append({"text": t, "src": src})
            out = run(driver, lines)
            rep[src][name] = sum(r["blocked"] for r in out) / len(out)
    return rep


def print_evasions(rep):
    print("\n== Evasions: recall of the whole policy on the test injections ==")
    print("  %-16s %10s %10s" % ("", "direct", "indirect"))
    print("  %-16s %9.1f%% %9.1f%%" % ("plain", 100 * rep["direct"]["plain"],
                                       100 * rep["indirect"]["plain"]))
    for name, _ in EVASIONS:
        d, i = rep["direct"][name], rep["indirect"][name]
        print("  %-16s %9.1f%% %9.1f%%   (%+.1f, %+.1f points)" % (
            name, 100 * d, 100 * i, 100 * (d - rep["direct"]["plain"]),
            100 * (i - rep["indirect"]["plain"])))

# ---- PII ----


def byte_span(text, a, b):
    return len(text[:a].encode("utf-8")), len(text[:b].encode("utf-8"))


def match(gold, pred, exact):
    """One-to-one matches between gold and predicted (start, end) spans."""
    used = set()
    tp = 0
    for g in gold:
        for j, p in enumerate(pred):
            if j in used:
                continue
            if (p == g) if exact else (p[0] < g[1] and g[0] < p[1]):
                used.add(j)
                tp += 1
                break
    return tp


def corrupt(text, a, b):
    """text with the last digit of bytes [a, b) changed (every one-digit change breaks Luhn and
    mod-97)."""
    raw = bytearray(text.encode("utf-8"))
    for k in range(b - 1, a - 1, -1):
        if 48 <= raw[k] <= 57:
            raw[k] = 48 + (raw[k] - 48 + 1) % 10
            return raw.decode("utf-8")
    return None


def pii(driver):
    with open(PII_DATA, encoding="utf-8") as f:
        recs = json.load(f)
    res = run(driver, [{"text": r["full_text"], "dir": "output"} for r in recs], PII_POLICY)
    ents = sorted(set(PII_MAP.values()))
    st = {e: {"gold": 0, "pred": 0, "tp_exact": 0, "tp_overlap": 0} for e in ents}
    checks = []
    for r, o in zip(recs, res):
        text = r["full_text"]
        for e in ents:
            gold = [byte_span(text, s["start_position"], s["end_position"])
                    for s in r["spans"] if PII_MAP.get(s["entity_type"]) == e]
            pred = [(f["start"], f["end"]) for f in o["findings"] if f["entity"] == e]
            st[e]["gold"] += len(gold)
            st[e]["pred"] += len(pred)
            st[e]["tp_exact"] += match(gold, pred, True)
            st[e]["tp_overlap"] += match(gold, pred, False)
            if e in ("CREDIT_CARD", "IBAN_CODE"):
                for g in gold:
                    if g in pred:
                        t = corrupt(text, g[0], g[1])
                        if t is not None:
                            checks.append((e, t, g))
    out = run(driver, [{"text": t, "dir": "output"} for _, t, _ in checks], PII_POLICY)
    rej = {}
    for (e, _, g), o in zip(checks, out):
        found = any(f["entity"] == e and f["start"] < g[1] and g[0] < f["end"]
                    for f in o["findings"])
        rej.setdefault(e, [0, 0])
        rej[e][0] += 1
        rej[e][1] += not found
    rewritten = sum(1 for o in res if any(f["action"] in ("redact", "mask", "tokenize")
                                          for f in o["findings"]))
    left = sum(o["rescan"] for o in res)
    return {"entities": st, "checksum": rej, "records": len(recs), "rewritten": rewritten,
            "rescan_findings": left}


def print_pii(rep):
    print("\n== PII: %s (%d records), output direction (redact) ==" %
          (os.path.relpath(PII_DATA, ROOT), rep["records"]))
    print("  %-18s %6s %6s   %-23s %-23s" % ("entity", "gold", "found", "exact P / R / F1",
                                            "overlap P / R / F1"))
    for e, s in sorted(rep["entities"].items()):
        cols = []
        for k in ("tp_exact", "tp_overlap"):
            p = s[k] / s["pred"] if s["pred"] else 0.0
            r = s[k] / s["gold"] if s["gold"] else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            cols.append("%.3f / %.3f / %.3f" % (p, r, f))
        print("  %-18s %6d %6d   %-23s %-23s" % (e, s["gold"], s["pred"], cols[0], cols[1]))
    for e, (n, k) in sorted(rep["checksum"].items()):
        print("  checksum: %d of %d %s spans found, with one digit changed, are no longer "
              "found" % (k, n, e))
    print("  redaction: %d records rewritten; re-scanning them finds %d rewriting findings" %
          (rep["rewritten"], rep["rescan_findings"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("--json")
    a = ap.parse_args()
    with open(T.MODEL, "rb") as f:
        model = T.unpack(f.read())
    items, res, inj = injection(a.driver, model)
    print_injection(inj)
    ev = evasions(a.driver, items, res)
    print_evasions(ev)
    pi = pii(a.driver)
    print_pii(pi)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"injection": inj, "evasions": ev, "pii": pi}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
