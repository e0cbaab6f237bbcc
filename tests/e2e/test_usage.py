"""Token accounting when the upstream reports no usage: completion tokens are estimated from
the generated text (4 bytes a token) and charged, streaming or not."""
import json


def completion_text(raw, stream):
    if not stream:
        return json.loads(raw)["choices"][0]["message"]["content"]
    text = ""
    for line in raw.decode().split("\n"):
        if line.startswith("data: {"):
            for ch in json.loads(line[6:]).get("choices", []):
                text += ch.get("delta", {}).get("content") or ""
    return text


def test_completion_estimated_without_usage(make_gateway):
    g = make_gateway(upstream_path="/x/usage=0,events=7/v1")
    key = g.apikey()
    for stream in (False, True):
        status, headers, _, raw = g.chat(key, stream=stream)
        assert status == 200
        text = completion_text(raw, stream)
        assert len(text) > 8
        rid = headers["x-request-id"]
        rec = next(r for r in g.records(want=rid) if r.get("request_id") == rid)
        assert rec["usage_source"] == "estimate"
        assert rec["completion_tokens"] == (len(text.encode()) + 3) // 4, (rec, text)
