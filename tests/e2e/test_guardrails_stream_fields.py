"""INSPECT_OUT on every text of a streamed answer, not only delta.content: tool-call arguments
(fragments per tool-call index, parallel calls interleaved) and names, refusal and
reasoning_content, with the SSE id, event and retry fields relayed. A scripted upstream
(scripted.py) sends exactly the events of each scenario, chosen by the prompt; the tests assert
the exact bytes http.client receives: findings split across fragments rewritten whole, a block
ending the stream with the guardrail error event and no byte of the blocked text, the limits
(tool calls per choice, bytes held) failing closed; and the record's decisions naming the member
each finding came from."""
import json

from scripted import Scripted, chunk, compact

POLICY = """inspection:
  output:
    pii:
      action: redact
    secrets:
      action: redact
    denied:
      action: block
      words: ["project nightjar"]

limits:
  response_bytes: 4096
"""

EMAIL, EMAIL_R = "bob.smith@example.com", "[REDACTED:EMAIL_ADDRESS]"
AWS, AWS_R = "AKIAZ7QWERTY3456ABCD", "[REDACTED:AWS_ACCESS_KEY]"
FILLER = " ".join(["the plan covers the budget for next quarter and the steps after it"] * 8)
DONE = "data: [DONE]\n\n"


def error_event(category):
    return "data: " + compact({"error": {
        "message": "the response was blocked by the content policy (category: %s)" % category,
        "type": "guardrail_violation", "code": 400}}) + "\n\n"


def header(index, call_id, name, role=False):
    delta = {"role": "assistant", "content": None} if role else {}
    delta["tool_calls"] = [{"index": index, "id": call_id, "type": "function",
                            "function": {"name": name, "arguments": ""}}]
    return chunk(delta)


def args(index, text):
    return {"index": index, "function": {"arguments": text}}


def frags(text, cuts):
    """text split at the offsets in cuts."""
    bounds = [0] + list(cuts) + [len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def split_on(text, value, pieces):
    """text in fragments where value is split into `pieces` parts (and cut around it)."""
    at = text.index(value)
    step = len(value) // pieces
    return frags(text, [at + 1] + [at + step * k for k in range(1, pieces)] +
                 [at + len(value) - 1])


SCEN = {}

# A secret and an e-mail address split across fragments of one tool call's arguments.
ARGS1 = '{"to": "%s", "aws": "%s", "note": "short"}' % (EMAIL, AWS)
_f = split_on(ARGS1, EMAIL, 3)
_f = _f[:-1] + split_on(_f[-1], AWS, 3)
assert "".join(_f) == ARGS1 and len(_f) >= 8
SCEN["tool_redact"] = [header(0, "call_1", "send_mail", role=True)] + \
    [chunk({"tool_calls": [args(0, p)]}) for p in _f] + [chunk({}, "tool_calls"), DONE]

# A denied phrase split over three argument fragments after text long enough to be released.
ARGS2 = '{"q": "%s about the Project Nightjar plan"}' % FILLER
_f = split_on(ARGS2, "Project Nightjar", 3)
_f = [p for x in _f for p in ([x[i:i + 7] for i in range(0, len(x), 7)] if len(x) > 40 else [x])]
SCEN["tool_block"] = [header(0, "call_1", "search", role=True)] + \
    [chunk({"tool_calls": [args(0, p)]}) for p in _f] + [chunk({}, "tool_calls"), DONE]

# Two parallel calls, fragments interleaved (sometimes two in one event).
ARGS_A = '{"city": "Paris", "mail": "%s"}' % EMAIL
ARGS_B = '{"key": "%s", "n": 2}' % AWS
_a, _b = split_on(ARGS_A, EMAIL, 3), split_on(ARGS_B, AWS, 4)
_ev = []
for i in range(max(len(_a), len(_b))):
    calls = ([args(0, _a[i])] if i < len(_a) else []) + ([args(1, _b[i])] if i < len(_b) else [])
    if i % 3 == 2:
        _ev.append(chunk({"tool_calls": calls}))
    else:
        _ev += [chunk({"tool_calls": [c]}) for c in calls]
SCEN["tool_parallel"] = [header(0, "call_a", "get_weather", role=True),
                         header(1, "call_b", "store_key")] + _ev + \
    [chunk({}, "tool_calls"), DONE]

# More tool calls than are tracked; more held than limits.response_bytes.
SCEN["tool_many"] = [header(0, "call_1", "a", role=True), header(16, "call_17", "q"),
                     chunk({"tool_calls": [args(16, '{"x": 1}')]}), chunk({}, "tool_calls"), DONE]
SCEN["tool_huge"] = [header(0, "call_1", "a", role=True)] + \
    [chunk({"tool_calls": [args(0, "x" * 500)]}) for _ in range(12)] + \
    [chunk({}, "tool_calls"), DONE]

# A tool call's name after it was given whole: never released.
SCEN["tool_name_again"] = [header(0, "call_1", "send_", role=True),
                           chunk({"tool_calls": [{"index": 0, "function": {"name": "mail"}}]}),
                           chunk({}, "tool_calls"), DONE]

REASON = "The key is %s, so I answer." % AWS
SCEN["reasoning"] = [chunk({"role": "assistant", "reasoning_content": p})
                     if i == 0 else chunk({"reasoning_content": p})
                     for i, p in enumerate(split_on(REASON, AWS, 3))] + \
    [chunk({"content": "Four."}), chunk({}, "stop"), DONE]
# reasoning, as vLLM 0.10+, OpenRouter and Ollama name it: its own held-back stream too
SCEN["reasoning2"] = [chunk({"role": "assistant", "reasoning": p})
                      if i == 0 else chunk({"reasoning": p})
                      for i, p in enumerate(split_on(REASON, AWS, 3))] + \
    [chunk({"content": "Four."}), chunk({}, "stop"), DONE]

# The reasoning is released where the answer begins, and may go on after it (inspected with
# what went before).
SCEN["reasoning_again"] = [chunk({"role": "assistant", "reasoning_content": "Think of " + EMAIL}),
                           chunk({"content": "First."}),
                           chunk({"reasoning_content": " Then " + AWS + " again."}),
                           chunk({"content": " Second."}), chunk({}, "stop"), DONE]

# What a client joins is inspected joined: a reasoning text split where the answer begins (as
# reasoning_content, and as thinking parts around a text part in one event), a choice index
# that is not an integer, members the gateway does not know, text after the usage event.
SCEN["reasoning_split"] = [chunk({"role": "assistant", "reasoning_content": "We discuss Project "}),
                           chunk({"content": "Ok."}),
                           chunk({"reasoning_content": "Nightjar details."}),
                           chunk({"content": " Done."}), chunk({}, "stop"), DONE]
SCEN["reasoning_key_split"] = [chunk({"role": "assistant", "reasoning_content": "The key is " +
                                      AWS[:9]}), chunk({"content": "Ok."}),
                               chunk({"reasoning_content": AWS[9:] + ", done."}),
                               chunk({}, "stop"), DONE]


def thinking(text):
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


SCEN["parts_split"] = [chunk({"role": "assistant", "content": [
    thinking("About Project "), {"type": "text", "text": "x"}, thinking("Nightjar now.")]}),
    chunk({}, "stop"), DONE]
SCEN["index_float"] = [chunk({"role": "assistant", "content": "Hi"}),
                       chunk(choices=[{"index": 1.0, "delta": {"content": "there"},
                                       "finish_reason": None}]), chunk({}, "stop"), DONE]
SCEN["unknown_members"] = [chunk({"role": "assistant", "reasoning": "Use the key",
                                  "reasoning_details": [{"type": "reasoning.text",
                                                         "text": "Use the key " + AWS}]}),
                           chunk({"content": "Done."}), chunk({}, "stop"), DONE]
SCEN["unknown_error"] = [chunk({"role": "assistant", "content": "Hi"}),
                         "data: " + compact({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                                             "model": "demo-model", "error": {
                                                 "message": "Project Nightjar error"},
                                             "choices": [{"index": 0, "delta": {},
                                                          "finish_reason": None}]}) + "\n\n",
                         chunk({}, "stop"), DONE]
SCEN["after_usage"] = [chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"),
                       "data: " + compact({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                                           "model": "demo-model", "choices": [],
                                           "usage": {"prompt_tokens": 1,
                                                     "completion_tokens": 1}}) + "\n\n",
                       chunk(choices=[{"index": 1, "delta": {"content": "late"},
                                       "finish_reason": None}]), DONE]
SCEN["empty_token"] = [chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "logprobs": {"content": [{"token": "", "bytes": [],
                                                                 "logprob": -0.1,
                                                                 "top_logprobs": []}]},
                                       "finish_reason": None}]), chunk({}, "stop"), DONE]

# Streamed content as a list of parts, as Mistral's reasoning models send it: thinking parts
# (each holding a list of text parts) and then text parts, a finding split across events of each.
THINK = "The user wants mail for %s, fine. %s" % (EMAIL, FILLER)
ANSWER = "Send it to %s with key %s. %s" % (EMAIL, AWS, FILLER[:120])


def thinking(text):
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


_t = split_on(THINK, EMAIL, 3)
_a = split_on(ANSWER, AWS, 3)
SCEN["parts_stream"] = ([chunk({"role": "assistant", "content": [thinking(_t[0])]})] +
                        [chunk({"content": [thinking(p)]}) for p in _t[1:-1]] +
                        # the last thinking piece and the first text part in one event
                        [chunk({"content": [thinking(_t[-1]), {"type": "text", "text": _a[0]}]})] +
                        [chunk({"content": [{"type": "text", "text": p}]}) for p in _a[1:]] +
                        [chunk({}, "stop"), DONE])
# thinking held at the end of the stream, then a plain string answer later in another choice
SCEN["parts_end"] = [chunk({"role": "assistant", "content": [thinking("Mail " + EMAIL)]}),
                     chunk({}, "stop"), DONE]
SCEN["parts_string"] = [chunk({"role": "assistant", "content": [thinking("Mail " + EMAIL)]}),
                        chunk({"content": "Done."}), chunk({}, "stop"), DONE]
SCEN["parts_image_stream"] = [chunk({"role": "assistant", "content": [
    {"type": "text", "text": "Here:"}, {"type": "image_url", "image_url": {"url": "x"}}]}),
    chunk({}, "stop"), DONE]
SCEN["parts_block"] = [chunk({"role": "assistant", "content": [thinking("About Project Nigh")]}),
                       chunk({"content": [thinking("tjar, the plan.")]}), chunk({}, "stop"), DONE]


def lp_choice(text, fin=None):
    """A choice whose logprobs spell its text out token by token."""
    return {"index": 0, "delta": {"content": text}, "finish_reason": fin,
            "logprobs": {"content": [{"token": text, "logprob": -0.1, "bytes": None,
                                      "top_logprobs": []}]}}


# logprobs repeat the text a held-back stream has not released yet: never relayed
SCEN["logprobs"] = [chunk(choices=[lp_choice(p)]) for p in split_on("Mail %s now" % EMAIL,
                                                                    EMAIL, 3)] + \
    [chunk(choices=[lp_choice("", "stop")]), DONE]


def lp_entry(token, raw=None):
    """A logprobs entry: token, and its bytes when given (a piece of a character)."""
    return {"token": token, "logprob": -0.5, "bytes": raw if raw is not None else
            list(token.encode()), "top_logprobs": [{"token": token, "logprob": -0.5,
                                                    "bytes": None}]}


def lp_event(text, entries, fin=None):
    return chunk(choices=[{"index": 0, "delta": {"content": text}, "finish_reason": fin,
                           "logprobs": {"content": entries, "refusal": None}}])


# logprobs held in step with the text: three words per event, one character ("’", three
# bytes) in two tokens whose text arrives with the second, as vLLM sends it
LP_TEXT = " ".join("word%d" % i for i in range(150)) + " it’s done."
_words = LP_TEXT.split(" ")
_ev = []
for i in range(0, len(_words), 3):
    piece = (" " if i else "") + " ".join(_words[i:i + 3])
    if "’" in piece:
        head, tail = piece.split("’")
        _ev.append(lp_event(head, [lp_entry(head), lp_entry("bytes:\\xe2\\x80", [226, 128])]))
        _ev.append(lp_event("’" + tail, [lp_entry("\\x99", [153]), lp_entry(tail)]))
    else:
        _ev.append(lp_event(piece, [lp_entry(piece)]))
SCEN["lp_kept"] = _ev + [lp_event("", [], "stop"), DONE]
# a rewrite: the tokens before it go out, then null
LP_TEXT2 = LP_TEXT.replace("word120", "mail " + EMAIL)
SCEN["lp_rewrite"] = [lp_event(w if i == 0 else " " + w, [lp_entry(w if i == 0 else " " + w)])
                      for i, w in enumerate(LP_TEXT2.split(" "))] + [lp_event("", [], "stop"),
                                                                   DONE]
# tokens that do not spell the content: never relayed
SCEN["lp_mismatch"] = [lp_event("Hello there.", [lp_entry("Hello " + EMAIL)]),
                       lp_event("", [], "stop"), DONE]
# content that keeps coming without logprobs after they began: past 64 KiB waiting, they end
SCEN["lp_lag"] = ([lp_event("Start.", [lp_entry("Start.")])] +
                  [chunk({"content": " " + FILLER}) for _ in range(130)] +
                  [lp_event(" End.", [lp_entry(" End.")], "stop"), DONE])


def cmpl_event(text, tokens, offset, fin=None):
    """A /v1/completions stream event whose logprobs are the parallel lists."""
    return "data: " + compact({"id": "cmpl-1", "object": "text_completion", "model": "demo-model",
                               "choices": [{"index": 0, "text": text, "finish_reason": fin,
                                            "logprobs": {
                                                "tokens": tokens,
                                                "token_logprobs": [-0.5] * len(tokens),
                                                "top_logprobs": [{t: -0.5} for t in tokens],
                                                "text_offset": [offset] * len(tokens)}}]}) + "\n\n"


_off = [0]


def _cmpl(w):
    ev = cmpl_event(w, [w], _off[0])
    _off[0] += len(w.encode())
    return ev


SCEN["lp_cmpl"] = [_cmpl(w if i == 0 else " " + w) for i, w in enumerate(LP_TEXT2.split(" "))] + \
    [cmpl_event("", [], 0, "stop"), DONE]
SCEN["refusal"] = [chunk({"role": "assistant", "content": None,
                          "refusal": "I can't share bob.sm"}),
                   chunk({"refusal": "ith@example.com and his data."}), chunk({}, "stop"), DONE]
SCEN["refusal_block"] = [chunk({"role": "assistant", "content": None,
                                "refusal": "Not about Project Nigh"}),
                         chunk({"refusal": "tjar, sorry."}), chunk({}, "stop"), DONE]

# SSE fields: comments, retry, id and event.
SCEN["fields"] = [": keep-alive\n\n", "retry: 3000\n\n",
                  chunk({"role": "assistant", "content": ""},
                        fields="id: ev-1\nevent: completion\n: note\n"),
                  chunk({"content": "Mail %s now" % EMAIL}, fields="id: ev-2\nevent: completion\n"),
                  chunk({}, "stop", fields="id:ev-3\nevent: completion\n"), DONE]
SCEN["fields_flush"] = [chunk({"role": "assistant", "content": "Reach " + EMAIL},
                              fields="event: completion\n"), DONE]

# Events that are not completion chunks: an upstream's error object mid-stream (OpenAI's and
# vLLM's shapes), inspected whole.
UP_ERROR = {"error": {"message": "tool failed for %s" % EMAIL, "type": "server_error"}}
SCEN["error_event"] = [chunk({"role": "assistant", "content": "Hello"}),
                       "data: " + compact(UP_ERROR) + "\n\n",
                       "data: " + compact({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                                           "model": "demo-model", "choices": [], "usage": {
                                               "prompt_tokens": 3, "completion_tokens": 1}}) +
                       "\n\n", DONE]
# No finish_reason before the usage event (the client asked for it): the held text goes out
# before the usage, not after it.
USAGE = "data: " + compact({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                            "model": "demo-model", "choices": [],
                            "usage": {"prompt_tokens": 3, "completion_tokens": 4}}) + "\n\n"
SCEN["usage_held"] = [chunk({"role": "assistant", "content": "Mail "}),
                      chunk({"content": EMAIL + " now"}), USAGE, DONE]
SCEN["error_event_block"] = [chunk({"role": "assistant", "content": "Hello"}), "data: " + compact(
    {"object": "error", "message": "Project Nightjar context too long", "type": "BadRequestError",
     "code": 400}) + "\n\n", DONE]

# Answers other than 200, and a 200 that is not a completion: every string but the metadata.
STATUS = {
    "err_json": (400, "application/json", {"error": {
        "message": "bad input near %s (key %s)" % (EMAIL, AWS), "type": "invalid_request_error",
        "param": None, "code": None}}),
    "err_block": (422, "application/json", {"object": "error", "message":
                                            "Project Nightjar is not a valid model",
                                            "type": "BadRequestError", "code": 422}),
    "err_text": (404, "text/plain", "no route for key %s" % AWS),
    "err_plain": (404, "application/json", {"error": {"message": "model not found",
                                                      "type": "not_found"}}),
    "ok_not_completion": (200, "application/json", {"error": {"message": "mail " + EMAIL}}),
}

ANSWERS = {
    "plain": {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": "ok", "reasoning_content": "key " + AWS,
        "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "send_mail", "arguments": '{"to": "%s"}' % EMAIL}}]},
        "finish_reason": "tool_calls"}]},
    "plain_reasoning": {"id": "x", "object": "chat.completion", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "ok", "reasoning": "key " + AWS},
        "finish_reason": "stop"}]},
    # content as a list of parts (Mistral's thinking parts hold a list of their own);
    # logprobs of a rewritten choice would give the original back, of an unchanged one not
    "parts": {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "mail " + EMAIL}]},
            {"type": "text", "text": "Send it to " + EMAIL + "."},
            {"type": "text", "text": "Done."}]},
        "logprobs": {"content": [{"token": EMAIL, "logprob": -0.1, "top_logprobs": []}]},
        "finish_reason": "stop"}, {"index": 1, "message": {"role": "assistant",
                                                            "content": "Nothing to hide."},
        "logprobs": {"content": [{"token": "Nothing", "logprob": -0.2, "top_logprobs": []}]},
        "finish_reason": "stop"}]},
    "parts_image": {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": [{"type": "text", "text": "Here:"},
                                         {"type": "image_url", "image_url": {"url": "x"}}]},
        "finish_reason": "stop"}]},
    "plain_details": {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": "ok", "reasoning_details": [
            {"type": "reasoning.text", "text": "key " + AWS}]}, "finish_reason": "stop"}]},
    "plain_refusal": {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": None, "refusal": "Project Nightjar is secret."},
        "finish_reason": "stop"}]},
}


def answer(req):
    name = req["messages"][-1]["content"] if "messages" in req else req["prompt"]
    if name in STATUS:
        status, ctype, body = STATUS[name]
        return status, ctype, (body if isinstance(body, str) else json.dumps(body)).encode()
    if req.get("stream"):
        return "text/event-stream", "".join(SCEN[name]).encode()
    return "application/json", json.dumps(ANSWERS[name]).encode()


def stream(g, key, name, completions=False, usage=False):
    c = g.conn(timeout=20)
    req = {"model": "demo-model", "stream": True}
    if usage:
        req["stream_options"] = {"include_usage": True}
    if completions:
        req["prompt"] = name
    else:
        req["messages"] = [{"role": "user", "content": name}]
    c.request("POST", "/v1/completions" if completions else "/v1/chat/completions",
              json.dumps(req), {"Authorization": "Bearer " + key,
                                "Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    assert r.status == 200, body
    return body, r.getheader("x-request-id")


def released_args(body, index):
    """The arguments text of tool call `index` the client received, concatenated."""
    out = ""
    for e in body.split("\n\n"):
        if not e.startswith("data: {"):
            continue
        for ch in json.loads(e[6:]).get("choices", []):
            for tc in ch.get("delta", {}).get("tool_calls") or []:
                if tc["index"] == index:
                    out += tc.get("function", {}).get("arguments", "")
    return out


def details(g, rid):
    return [x["detail"] for x in g.record(rid)["decisions"] if x["stage"] == "inspect_out"]


def test_streamed_fields(make_gateway):
    with Scripted(answer) as up:
        g = make_gateway(extra_config=POLICY, upstream=up.url, start=False).start(timeout=90)
        key = g.apikey()

        # one call's arguments: everything held to the end, released rewritten, exactly
        body, rid = stream(g, key, "tool_redact")
        want = ARGS1.replace(EMAIL, EMAIL_R).replace(AWS, AWS_R)
        assert body == (SCEN["tool_redact"][0] + chunk({"tool_calls": [args(0, want)]},
                                                       "tool_calls") + DONE)
        d = details(g, rid)
        assert len(d) == 1 and d[0].startswith(
            "choices[0].delta.tool_calls[0].function.arguments: pii.email pii redact 8-29;"), d
        assert "secret.aws_access_key_id secret redact 40-60;" in d[0]
        assert g.record(rid)["output_inspected"] is True

        # a denied phrase over three fragments: the text before it streamed, then the error
        body, rid = stream(g, key, "tool_block")
        assert body.startswith(SCEN["tool_block"][0]) and body.endswith(error_event("denied"))
        assert DONE not in body and "Nig" not in body and "ject N" not in body, body[-600:]
        got = released_args(body, 0)
        assert len(got) > 300 and ARGS2.startswith(got)
        assert len([e for e in body.split("\n\n") if "arguments" in e]) > 5  # streamed
        assert any(x["action"] == "block" for x in g.record(rid)["decisions"])

        # two calls interleaved: each inspected on its own, released whole at the end
        body, rid = stream(g, key, "tool_parallel")
        assert body == (SCEN["tool_parallel"][0] + SCEN["tool_parallel"][1] + chunk(
            {"tool_calls": [args(0, ARGS_A.replace(EMAIL, EMAIL_R)),
                            args(1, ARGS_B.replace(AWS, AWS_R))]}, "tool_calls") + DONE)
        d = details(g, rid)
        assert any(x.startswith("choices[0].delta.tool_calls[0].function.arguments: pii.email")
                   for x in d), d
        assert any(x.startswith("choices[0].delta.tool_calls[1].function.arguments: "
                                "secret.aws_access_key_id") for x in d), d

        # limits fail closed: a 17th tool call, more held than limits.response_bytes
        body, _ = stream(g, key, "tool_many")
        assert body == SCEN["tool_many"][0] + error_event("not fully inspected")
        body, rid = stream(g, key, "tool_huge")
        assert body == SCEN["tool_huge"][0] + error_event("not fully inspected")
        assert any("more than limits.response_bytes held" in x for x in details(g, rid))
        body, _ = stream(g, key, "tool_name_again")
        assert body == SCEN["tool_name_again"][0] + error_event("not fully inspected")

        # reasoning_content and refusal: their own held-back streams
        # the reasoning's held rest goes out where the answer begins
        body, rid = stream(g, key, "reasoning")
        assert body == (chunk({"role": "assistant", "reasoning_content": ""}) +
                        chunk({"content": "", "reasoning_content": REASON.replace(AWS, AWS_R)}) +
                        chunk({"content": "Four."}, "stop") + DONE)
        assert any(x.startswith("choices[0].delta.reasoning_content: secret.aws_access_key_id")
                   for x in details(g, rid))
        body, rid = stream(g, key, "reasoning2")
        assert body == (chunk({"role": "assistant", "reasoning": ""}) +
                        chunk({"content": "", "reasoning": REASON.replace(AWS, AWS_R)}) +
                        chunk({"content": "Four."}, "stop") + DONE)
        assert any(x.startswith("choices[0].delta.reasoning: secret.aws_access_key_id")
                   for x in details(g, rid))
        # reasoning again after the answer began: inspected on, not a block
        body, rid = stream(g, key, "reasoning_again")
        assert body == (chunk({"role": "assistant", "reasoning_content": ""}) +
                        chunk({"content": "", "reasoning_content": "Think of " + EMAIL_R}) +
                        chunk({"content": "", "reasoning_content": " Then " + AWS_R + " again."}) +
                        chunk({"content": "First. Second."}, "stop") + DONE)
        d = details(g, rid)
        assert any(x.startswith("choices[0].delta.reasoning_content: pii.email") for x in d), d
        assert any(x.startswith("choices[0].delta.reasoning_content: secret.aws") for x in d), d

        # logprobs in a stream: null in every event, the text released rewritten
        body, rid = stream(g, key, "logprobs")
        assert EMAIL not in body and "bob" not in body, body
        events = [json.loads(e[6:]) for e in body.split("\n\n") if e.startswith("data: {")]
        assert all(ch["logprobs"] is None for e in events for ch in e["choices"]), events
        assert "".join(ch["delta"].get("content", "") for e in events
                       for ch in e["choices"]) == "Mail %s now" % EMAIL_R
        assert [x for x in g.record(rid)["decisions"] if x["action"] == "strip"] == [
            {"stage": "inspect_out", "action": "strip", "detail": "choices[0].logprobs"}]

        body, _ = stream(g, key, "refusal")
        assert body == (chunk({"role": "assistant", "content": None, "refusal": ""}) +
                        chunk({"refusal": "I can't share %s and his data." % EMAIL_R}, "stop") +
                        DONE)
        body, _ = stream(g, key, "refusal_block")
        assert body == (chunk({"role": "assistant", "content": None, "refusal": ""}) +
                        error_event("denied"))

        # id, event and retry relayed; comments dropped, a keep-alive kept as ":"
        body, _ = stream(g, key, "fields")
        assert body == (":\n\n" + "retry: 3000\n\n" + "event: completion\nid: ev-1\n" +
                        chunk({"role": "assistant", "content": ""}) +
                        "event: completion\nid: ev-2\n\n" + "event: completion\nid: ev-3\n" +
                        chunk({"content": "Mail %s now" % EMAIL_R}, "stop") + DONE)
        body, _ = stream(g, key, "fields_flush")
        assert body == ("event: completion\n" + chunk({"role": "assistant", "content": ""}) +
                        "event: completion\n" + chunk({"content": "Reach " + EMAIL_R}) + DONE)

        # not streamed: reasoning, tool-call name and arguments, refusal
        status, h, resp, _ = g.chat(key, "plain")
        assert status == 200, resp
        msg = resp["choices"][0]["message"]
        assert msg["reasoning_content"] == "key " + AWS_R and msg["content"] == "ok"
        assert msg["tool_calls"][0]["function"] == {
            "name": "send_mail", "arguments": '{"to": "%s"}' % EMAIL_R}
        d = details(g, h["x-request-id"])
        assert any(x.startswith("choices[0].message.reasoning_content: secret.") for x in d), d
        assert any(x.startswith("choices[0].message.tool_calls[0].function.arguments: pii.")
                   for x in d), d
        status, h, resp, _ = g.chat(key, "plain_reasoning")
        assert status == 200, resp
        assert resp["choices"][0]["message"]["reasoning"] == "key " + AWS_R
        status, h, resp, raw = g.chat(key, "parts")
        assert status == 200, resp
        c0, c1 = resp["choices"]
        assert c0["message"]["content"] == [
            {"type": "thinking", "thinking": [{"type": "text", "text": "mail " + EMAIL_R}]},
            {"type": "text", "text": "Send it to " + EMAIL_R + "."},
            {"type": "text", "text": "Done."}], c0
        assert c0["logprobs"] is None and EMAIL.encode() not in raw
        assert c1["logprobs"] == ANSWERS["parts"]["choices"][1]["logprobs"]
        d = details(g, h["x-request-id"])
        assert any(x.startswith("choices[0].message.content[0].thinking[0].text: pii.email")
                   for x in d), d
        assert any(x.startswith("choices[0].message.content[1].text: pii.email") for x in d), d
        status, h, resp, raw = g.chat(key, "parts_image")
        assert status == 400 and resp["error"]["type"] == "guardrail_violation", resp
        assert "not fully inspected" in resp["error"]["message"]
        status, h, resp, raw = g.chat(key, "plain_refusal")
        assert status == 400 and resp["error"]["type"] == "guardrail_violation", resp
        assert b"Nightjar" not in raw


def test_errors_and_other_answers(make_gateway):
    """An upstream's error objects, streamed or not, and answers other than 200 are inspected
    like the answer's text: every string but the metadata, each whole."""
    with Scripted(answer) as up:
        g = make_gateway(extra_config=POLICY, upstream=up.url, start=False).start(timeout=90)
        key = g.apikey()

        # an error event mid-stream: rewritten (the usage event, not asked for, is dropped)
        body, rid = stream(g, key, "error_event")
        want_err = {"error": {"message": "tool failed for " + EMAIL_R, "type": "server_error"}}
        assert body == (chunk({"role": "assistant", "content": ""}) + "data: " +
                        compact(want_err) + "\n\n" + chunk({"content": "Hello"}) + DONE), body
        assert any(x.startswith("error.message: pii.email") for x in details(g, rid)), \
            details(g, rid)
        # the usage event the client asked for, with text still held: that text first
        body, rid = stream(g, key, "usage_held", usage=True)
        assert body == (chunk({"role": "assistant", "content": ""}) +
                        chunk({"content": "Mail %s now" % EMAIL_R}) + USAGE + DONE), body
        body, rid = stream(g, key, "error_event_block")
        assert body == (chunk({"role": "assistant", "content": ""}) + error_event("denied")), body
        assert "Nightjar" not in body

        # not streamed: an error answer rewritten with its status kept, or blocked
        status, h, resp, raw = g.chat(key, "err_json")
        assert status == 400 and resp["error"]["message"] == \
            "bad input near %s (key %s)" % (EMAIL_R, AWS_R), resp
        assert resp["error"]["type"] == "invalid_request_error" and EMAIL.encode() not in raw
        d = details(g, h["x-request-id"])
        assert any(x.startswith("error.message: pii.email") for x in d), d
        status, h, resp, raw = g.chat(key, "err_block")
        assert status == 400 and resp["error"]["type"] == "guardrail_violation", resp
        assert b"Nightjar" not in raw
        status, h, resp, raw = g.chat(key, "err_text")
        assert status == 404 and raw == ("no route for key " + AWS_R).encode(), raw
        status, h, resp, raw = g.chat(key, "err_plain")
        assert status == 404 and resp == STATUS["err_plain"][2], resp
        assert g.record(h["x-request-id"])["output_inspected"] is True
        status, h, resp, raw = g.chat(key, "ok_not_completion")
        assert status == 200 and resp == {"error": {"message": "mail " + EMAIL_R}}, resp


def parts_text(body):
    """The thinking and answer texts a client assembles from streamed lists of parts, and the
    order in which they arrived ("t" thinking, "a" answer, per non-empty piece)."""
    think, ans, order = "", "", ""
    for e in body.split("\n\n"):
        if not e.startswith("data: {"):
            continue
        for ch in json.loads(e[6:]).get("choices", []):
            c = ch.get("delta", {}).get("content")
            for part in (c if isinstance(c, list) else [{"type": "text", "text": c or ""}]):
                if part["type"] == "thinking":
                    for q in part["thinking"]:
                        assert q["type"] == "text" and q["text"], part
                        think += q["text"]
                        order += "t"
                else:
                    assert part["type"] == "text", part
                    ans += part["text"]
                    order += "a" if part["text"] else ""
    return think, ans, order


def test_streamed_parts(make_gateway):
    """Streamed content given as lists of parts: thinking and text parts each through their own
    held-back stream, the thinking's rest released before the answer's first text."""
    with Scripted(answer) as up:
        g = make_gateway(extra_config=POLICY, upstream=up.url, start=False).start(timeout=90)
        key = g.apikey()

        body, rid = stream(g, key, "parts_stream")
        assert EMAIL not in body and AWS not in body and "bob.sm" not in body, body
        think, ans, order = parts_text(body)
        assert think == THINK.replace(EMAIL, EMAIL_R)
        assert ans == ANSWER.replace(EMAIL, EMAIL_R).replace(AWS, AWS_R)
        assert order.rstrip("a").count("a") == 0 and order.count("t") >= 2, order  # streamed
        assert body.endswith(DONE)
        d = details(g, rid)
        assert any(x.startswith("choices[0].delta.content.thinking: pii.email") for x in d), d
        assert any(x.startswith("choices[0].delta.content: pii.email pii redact 11-32;") and
                   "secret.aws_access_key_id secret redact 42-62;" in x for x in d), d
        assert g.record(rid)["output_inspected"] is True

        # held thinking goes out with the finish; a string answer after thinking parts
        body, _ = stream(g, key, "parts_end")
        assert body == (chunk({"role": "assistant"}) +
                        chunk({"content": [thinking("Mail " + EMAIL_R)]}, "stop") + DONE)
        body, _ = stream(g, key, "parts_string")
        assert body == (chunk({"role": "assistant"}) +
                        chunk({"content": [thinking("Mail " + EMAIL_R)]}) +
                        chunk({"content": "Done."}, "stop") + DONE)

        # a part that is not text, and a denied phrase split across thinking parts: blocked
        body, rid = stream(g, key, "parts_image_stream")
        assert body == error_event("not fully inspected"), body
        assert any("a part that is neither text nor a refusal" in x for x in details(g, rid))
        body, _ = stream(g, key, "parts_block")
        assert body == chunk({"role": "assistant"}) + error_event("denied"), body


def lp_received(body):
    """Per data event: (content released so far, token bytes released so far)."""
    text, toks, steps = b"", b"", []
    for e in body.split("\n\n"):
        if not e.startswith("data: {"):
            continue
        for ch in json.loads(e[6:])["choices"]:
            text += (ch.get("delta", {}).get("content") or "").encode()
            for x in (ch.get("logprobs") or {}).get("content") or []:
                toks += bytes(x["bytes"])
                assert x["top_logprobs"][0]["token"] == x["token"]
            steps.append((text, toks))
    return steps


def test_streamed_logprobs(make_gateway):
    """A stream's logprobs go out in step with the released text, never ahead of it, and stop
    (null, one strip decision) at a rewrite or at tokens that do not spell the content."""
    with Scripted(answer) as up:
        g = make_gateway(extra_config=POLICY, upstream=up.url, start=False).start(timeout=90)
        key = g.apikey()

        body, rid = stream(g, key, "lp_kept")
        steps = lp_received(body)
        assert steps[-1] == (LP_TEXT.encode(), LP_TEXT.encode()), steps[-1]
        assert all(text.startswith(toks) for text, toks in steps)  # never ahead of the text
        assert len({toks for _, toks in steps if toks}) > 5, steps  # streamed, not at the end
        assert not [x for x in g.record(rid)["decisions"] if x["action"] == "strip"]
        assert "bytes:\\\\xe2\\\\x80" in body  # the partial character's token relayed

        body, rid = stream(g, key, "lp_rewrite")
        assert EMAIL not in body and "bob" not in body
        text, toks = lp_received(body)[-1]
        assert text == LP_TEXT2.replace(EMAIL, EMAIL_R).encode()
        assert len(toks) > 200 and LP_TEXT2.encode().startswith(toks) and b"word120" not in toks
        assert [x for x in g.record(rid)["decisions"] if x["action"] == "strip"] == [
            {"stage": "inspect_out", "action": "strip", "detail": "choices[0].logprobs"}]

        body, rid = stream(g, key, "lp_mismatch")
        assert EMAIL not in body and "bob" not in body
        assert lp_received(body)[-1] == (b"Hello there.", b"")
        assert any(x["action"] == "strip" for x in g.record(rid)["decisions"])

        body, rid = stream(g, key, "lp_lag")
        text, toks = lp_received(body)[-1]
        assert text == ("Start." + (" " + FILLER) * 130 + " End.").encode() and toks == b"Start."
        assert any(x["action"] == "strip" for x in g.record(rid)["decisions"])

        # /v1/completions: the parallel lists, in step up to the rewrite, offsets kept
        body, rid = stream(g, key, "lp_cmpl", completions=True)
        assert EMAIL not in body and "bob" not in body
        text, toks, offs = "", "", []
        for e in body.split("\n\n"):
            if e.startswith("data: {"):
                for ch in json.loads(e[6:])["choices"]:
                    text += ch.get("text", "")
                    lp = ch.get("logprobs") or {}
                    assert text.startswith(toks + "".join(lp.get("tokens", [])))
                    toks += "".join(lp.get("tokens", []))
                    offs += lp.get("text_offset", [])
                    assert len(lp.get("top_logprobs", [])) == len(lp.get("tokens", []))
        assert text == LP_TEXT2.replace(EMAIL, EMAIL_R)
        assert len(toks) > 200 and LP_TEXT2.startswith(toks) and "word120" not in toks
        assert offs == sorted(offs) and offs[-1] == len(toks) - len(toks.split(" ")[-1]) - 1
        assert any(x["action"] == "strip" for x in g.record(rid)["decisions"])


def test_joined_and_unknown(make_gateway):
    """Text a client joins is inspected joined: a reasoning text released where the answer
    begins is inspected on with what went before, so a phrase or a key split there blocks
    (its start already went out, no rewrite can undo it). A choice index that is not an
    integer and text after the usage event fail closed; members the gateway does not know are
    inspected whole; an empty logprobs token is not a crash."""
    role_r = chunk({"role": "assistant", "reasoning_content": ""})
    role_c = chunk({"role": "assistant", "content": ""})
    with Scripted(answer) as up:
        g = make_gateway(extra_config=POLICY, upstream=up.url, start=False).start(timeout=90)
        key = g.apikey()
        body, _ = stream(g, key, "reasoning_split")
        assert body == (role_r + chunk({"content": "", "reasoning_content": "We discuss Project "})
                        + error_event("denied")), body
        body, _ = stream(g, key, "reasoning_key_split")
        assert body == (role_r + chunk({"content": "", "reasoning_content": "The key is " +
                                        AWS[:9]}) + error_event("secret")), body
        body, _ = stream(g, key, "parts_split")
        assert body == error_event("denied"), body
        body, _ = stream(g, key, "index_float")
        assert body == role_c + error_event("not fully inspected"), body
        body, rid = stream(g, key, "unknown_members")
        assert body == (chunk({"role": "assistant", "reasoning": "", "reasoning_details": [
            {"type": "reasoning.text", "text": "Use the key " + AWS_R}]}) +
            chunk({"content": "", "reasoning": "Use the key"}) + chunk({"content": "Done."}, "stop")
            + DONE), body
        assert any(x.startswith("choices[0].delta.reasoning_details[0].text: secret.aws")
                   for x in details(g, rid)), details(g, rid)
        body, _ = stream(g, key, "unknown_error")
        assert body == role_c + error_event("denied"), body
        body, _ = stream(g, key, "after_usage", usage=True)
        assert body == (role_c + chunk({"content": "Hi"}, "stop") + SCEN["after_usage"][2] +
                        error_event("not fully inspected")), body
        body, _ = stream(g, key, "empty_token")
        assert body.endswith(chunk({}, "stop") + DONE), body
        status, _, resp, _ = g.chat(key, "plain_details")
        assert status == 200 and resp["choices"][0]["message"]["reasoning_details"] == [
            {"type": "reasoning.text", "text": "key " + AWS_R}], resp
