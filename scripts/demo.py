"""The demo behind `scripts/demo`: castellan in front of the stub model server on loopback.
Shows, request by request, what was allowed, denied, limited and logged, then checks that
every response's X-Request-Id has exactly one invocation record."""
import json
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
os.environ["CASTELLAN_BIN"] = os.path.abspath(sys.argv[1])
from conftest import Gateway, run  # noqa: E402
from stub import Stub  # noqa: E402

seen = []


def show(what, result):
    status, headers, body, _ = result
    rid = headers.get("x-request-id", "")
    seen.append(rid)
    detail = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    if status == 200 and isinstance(body, dict) and "choices" in body:
        detail = "model said: " + body["choices"][0]["message"]["content"]
    print(f"  {status}  {what:<52} {detail}")


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="castellan-demo-"))
    stub = Stub(os.path.abspath(sys.argv[2]), record=str(tmp / "upstream.jsonl"))
    stub.start()
    g = Gateway(tmp, stub.base_url + "/v1")
    print(f"castellan init {g.dir}: CA, TLS certificate, admin certificate, state database")
    alice = g.apikey("alice", "demo-model", "--rpm", "5")
    bob = g.apikey("bob", "other-model")
    g.start()
    print(f"gateway on https://localhost:{g.port}, model server (stub) on {stub.base_url}\n")
    show("alice: chat (key granted demo-model)", g.chat(alice))
    show("no credentials", g.chat(None))
    show("a forged key", g.chat("cst_" + "0" * 16 + "_" + "A" * 43))
    show("bob: demo-model is not granted to him", g.chat(bob))
    show("alice: logprobs + n=4 (stripped before the model)", g.chat(alice, logprobs=True, n=4))
    sent = json.loads(stub.requests()[-1]["body"])
    print(f"       the model server received: logprobs={sent.get('logprobs')}, n={sent.get('n')}, "
          f"max_tokens={sent.get('max_tokens')}")
    show("alice: malformed JSON", g.request("POST", "/v1/chat/completions", b"{oops", key=alice))
    tok = g.request("POST", "/v1/tokens", {"ttl": 300}, key=alice)
    show("alice: exchange her key for a 5-minute token", tok)
    show("alice: chat with the token", g.chat(tok[2]["token"]))
    for i in range(3):
        show(f"alice: chat #{i + 4} (rpm limit is 5)", g.chat(alice))
    print("\ncastellan admin lockdown on")
    g.admin("lockdown", "on")
    show("alice: chat during lockdown", g.chat(alice))
    g.admin("lockdown", "off")
    print("castellan admin lockdown off")
    g.stop()
    recs = g.records()
    inv = {r["request_id"]: r for r in recs if r["type"] == "invocation"}
    missing = [i for i in seen if i not in inv]
    log_dir = os.path.join(g.dir, "log")
    print(f"\n{len(inv)} invocation records, {len(recs) - len(inv)} admin records in the "
          f"tamper-evident log {log_dir}; decisions of the stripped request:")
    print("  " + json.dumps(inv[seen[4]]["decisions"]))
    secret_free = all(alice not in json.dumps(r) for r in recs)
    print(f"every response has its record: {not missing}; no key in any record: {secret_free}")
    vkey = os.path.join(g.dir, "log.key.vkey")
    print(f"\ncastellan log verify {log_dir} --key {vkey}")
    verify = run("log", "verify", log_dir, "--key", vkey, check=False)
    print("  " + verify.stdout.strip().replace("\n", "\n  "))
    proof = run("log", "prove", log_dir, "--request-id", seen[0], check=False)
    print(f"\ncastellan log prove {log_dir} --request-id {seen[0]}   (X-Request-Id of the "
          f"first response)")
    print("  " + proof.stderr.strip())
    print("  " + proof.stdout.strip().replace("\n", "\n  "))
    stub.stop()
    ok = not missing and secret_free and verify.returncode == 0 and proof.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
