"""Tests of the stub upstream itself (tests/stub/stub_upstream.c, driven through stub.py).

The gateway's black-box tests trust the stub to do exactly what its directives say, so each
behaviour they rely on is checked here against real values: response shapes and usage numbers,
that streamed events arrive one by one, failures (status, close, drop, hang, delay), recording,
API-key enforcement, keep-alive, TLS, several workers and a clean SIGTERM. The binary comes from
STUB_BIN.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from stub import Stub

CHAT = "/v1/chat/completions"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def stub_bin():
    path = os.environ.get("STUB_BIN")
    if not path:
        pytest.fail("STUB_BIN must name the stub_upstream binary")
    if not os.access(path, os.X_OK):
        pytest.fail("STUB_BIN=%s is not executable" % path)
    return path


@pytest.fixture
def stub(stub_bin):
    with Stub(stub_bin) as s:
        yield s
    assert s.returncode == 0


def chat_body(content="hello there world", stream=False, model="test-model", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    body.update(extra)
    return json.dumps(body)


def post(s, path, body, headers=None, timeout=10.0):
    conn = s.connection(timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=dict(JSON, **(headers or {})))
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def get(s, path, headers=None):
    conn = s.connection()
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def read_events(resp, on_event=None):
    """Reads SSE "data:" payloads from a streaming response until it ends; returns the list.
    on_event(payload, t) is called as each arrives (t: time.monotonic())."""
    events = []
    while True:
        line = resp.readline()
        if not line:
            return events
        line = line.rstrip(b"\r\n")
        if not line.startswith(b"data: "):
            continue
        payload = line[len(b"data: "):].decode()
        events.append(payload)
        if on_event is not None:
            on_event(payload, time.monotonic())


def content_of(events):
    """Concatenated delta content of parsed chat chunks (everything but [DONE])."""
    out = ""
    for e in events:
        if e == "[DONE]":
            continue
        for c in json.loads(e)["choices"]:
            out += c.get("delta", {}).get("content", "") or ""
    return out


# ---------------------------------------------------------------------------------------------
# Shapes and numbers


def test_chat_non_streaming_shape_and_usage(stub):
    status, headers, body = post(stub, CHAT, chat_body("one two  three\nfour", model="m-x"))
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["object"] == "chat.completion"
    assert doc["id"].startswith("chatcmpl-stub-")
    assert doc["model"] == "m-x"
    assert abs(doc["created"] - time.time()) < 60
    assert doc["choices"] == [{"index": 0,
                               "message": {"role": "assistant", "content": "tok0 tok1 tok2"},
                               "finish_reason": "stop"}]
    assert doc["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}


def test_chat_prompt_tokens_across_messages_and_ids_differ(stub):
    body = json.dumps({"model": "m", "messages": [
        {"role": "system", "content": "a b"},
        {"role": "user", "content": [{"type": "text", "text": "c d e"}]},
        {"role": "assistant", "content": None}]})
    _, _, b1 = post(stub, "/x/events=5/v1/chat/completions", body)
    _, _, b2 = post(stub, CHAT, json.dumps({"model": "m", "messages": []}))
    d1, d2 = json.loads(b1), json.loads(b2)
    assert d1["choices"][0]["message"]["content"] == "tok0 tok1 tok2 tok3 tok4"
    assert d1["usage"] == {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
    assert d2["usage"]["prompt_tokens"] == 1  # at least 1
    assert d1["id"] != d2["id"]


def test_usage_directives(stub):
    _, _, b = post(stub, "/x/usage=0/v1/chat/completions", chat_body())
    assert "usage" not in json.loads(b)
    _, _, b = post(stub, "/x/completion_tokens=42,events=2/v1/chat/completions", chat_body("a"))
    doc = json.loads(b)
    assert doc["choices"][0]["message"]["content"] == "tok0 tok1"
    assert doc["usage"] == {"prompt_tokens": 1, "completion_tokens": 42, "total_tokens": 43}


def test_completions(stub):
    status, _, b = post(stub, "/v1/completions",
                        json.dumps({"model": "c", "prompt": "say three words"}))
    assert status == 200
    doc = json.loads(b)
    assert doc["object"] == "text_completion"
    assert doc["choices"] == [{"index": 0, "text": "tok0 tok1 tok2", "finish_reason": "stop"}]
    assert doc["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}


def test_embeddings_and_models(stub):
    status, _, b = post(stub, "/v1/embeddings", json.dumps({"model": "e", "input": "a b c"}))
    assert status == 200
    doc = json.loads(b)
    assert doc["object"] == "list" and doc["model"] == "e"
    assert doc["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert len(doc["data"]) == 1
    item = doc["data"][0]
    assert item["object"] == "embedding" and item["index"] == 0
    vec = item["embedding"]
    assert len(vec) == 8 and all(isinstance(v, float) and -1 <= v < 1 for v in vec)
    _, _, again = post(stub, "/v1/embeddings", json.dumps({"model": "e", "input": "a b c"}))
    assert json.loads(again)["data"][0]["embedding"] == vec  # deterministic
    _, _, other = post(stub, "/v1/embeddings", json.dumps({"model": "e", "input": "x"}))
    assert json.loads(other)["data"][0]["embedding"] != vec

    status, b = get(stub, "/v1/models")
    assert status == 200
    assert json.loads(b) == {"object": "list", "data": [
        {"id": "stub-model", "object": "model", "created": 0, "owned_by": "stub"}]}


def test_errors_bad_json_unknown_route_unknown_directive(stub):
    status, _, b = post(stub, CHAT, "{not json")
    assert status == 400
    assert json.loads(b)["error"]["type"] == "invalid_request_error"
    status, _, b = post(stub, "/v1/nope", "{}")
    assert status == 404
    assert "error" in json.loads(b)
    status, _, b = post(stub, "/x/bogus=1/v1/chat/completions", chat_body())
    assert status == 400
    assert "bogus" in json.loads(b)["error"]["message"]
    status, _, _ = post(stub, "/x/events=abc/v1/chat/completions", chat_body())
    assert status == 400
    status, _, _ = post(stub, "/x/close=2/v1/chat/completions", chat_body())
    assert status == 400


def test_status_directive(stub):
    status, headers, b = post(stub, "/x/status=503/v1/chat/completions", chat_body())
    assert status == 503
    assert headers["Content-Type"] == "application/json"
    assert json.loads(b) == {"error": {"message": "stub failure", "type": "server_error",
                                       "code": 503}}


def test_defaults_and_path_override(stub_bin):
    with Stub(stub_bin, defaults="events=2,usage=0") as s:
        _, _, b = post(s, CHAT, chat_body())
        doc = json.loads(b)
        assert doc["choices"][0]["message"]["content"] == "tok0 tok1"
        assert "usage" not in doc
        _, _, b = post(s, "/x/events=4,usage=1/v1/chat/completions", chat_body())
        doc = json.loads(b)
        assert doc["choices"][0]["message"]["content"] == "tok0 tok1 tok2 tok3"
        assert doc["usage"]["completion_tokens"] == 4


def test_bad_defaults_refuse_to_start(stub_bin):
    with pytest.raises(Exception):
        Stub(stub_bin, defaults="nonsense=1").start()


# ---------------------------------------------------------------------------------------------
# Streaming


def test_streaming_shape_and_done_last(stub):
    conn = stub.connection()
    conn.request("POST", "/x/events=4/v1/chat/completions",
                 body=chat_body("a b", stream=True, model="sm"), headers=JSON)
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    assert resp.getheader("Transfer-Encoding") == "chunked"
    events = read_events(resp)
    conn.close()
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 1 + 4 + 1 + 1  # role, content, finish, usage
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-stub-")
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "sm" for c in chunks)
    assert chunks[0]["choices"] == [{"index": 0, "delta": {"role": "assistant"},
                                     "finish_reason": None}]
    for i in range(4):
        assert chunks[1 + i]["choices"] == [{"index": 0, "delta": {"content": "tok%d " % i},
                                             "finish_reason": None}]
    assert chunks[5]["choices"][0]["finish_reason"] == "stop"
    assert chunks[6]["choices"] == []
    assert chunks[6]["usage"] == {"prompt_tokens": 2, "completion_tokens": 4,
                                  "total_tokens": 6}
    assert content_of(events) == "tok0 tok1 tok2 tok3 "


def test_streaming_usage_0_and_completions(stub):
    conn = stub.connection()
    conn.request("POST", "/x/usage=0,events=2/v1/completions",
                 body=json.dumps({"prompt": "p", "stream": True}), headers=JSON)
    events = sse_payloads(conn.getresponse().read())  # raises unless the stream ends cleanly
    conn.close()
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["text"] for c in chunks] == ["tok0 ", "tok1 ", ""]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["object"] == "text_completion" and "usage" not in c for c in chunks)


def test_streaming_is_incremental(stub):
    arrivals = []
    t0 = time.monotonic()
    conn = stub.connection()
    conn.request("POST", "/x/event_ms=200,events=5/v1/chat/completions",
                 body=chat_body(stream=True), headers=JSON)
    resp = conn.getresponse()
    events = read_events(resp, lambda p, t: arrivals.append((p, t - t0)))
    t_end = time.monotonic() - t0
    conn.close()
    content_times = [t for p, t in arrivals
                     if p != "[DONE]" and json.loads(p)["choices"]
                     and json.loads(p)["choices"][0].get("delta", {}).get("content")]
    assert len(content_times) == 5
    assert events[-1] == "[DONE]"
    # Events are 200 ms apart: first content at ~0.2 s, end at ~1.2 s.
    assert content_times[0] < 0.6
    assert t_end >= 1.1
    assert t_end - content_times[0] >= 0.7
    gaps = [b - a for a, b in zip(content_times, content_times[1:])]
    assert all(g >= 0.1 for g in gaps), gaps


def sse_payloads(data):
    return [line[len("data: "):] for line in data.decode().split("\n")
            if line.startswith("data: ")]


def test_drop_after(stub):
    conn = stub.connection()
    conn.request("POST", "/x/events=5,drop_after=2/v1/chat/completions",
                 body=chat_body(stream=True), headers=JSON)
    resp = conn.getresponse()
    assert resp.status == 200
    # read() insists on the terminating chunk; readline() would take the drop for an end.
    with pytest.raises(http.client.IncompleteRead) as ei:
        resp.read()
    conn.close()
    events = sse_payloads(ei.value.partial)
    assert "[DONE]" not in events
    assert len(events) == 3  # role + 2 content events
    assert content_of(events) == "tok0 tok1 "
    assert not any(json.loads(e)["choices"][0]["finish_reason"] for e in events)


def test_client_disconnect_mid_stream_leaves_stub_healthy(stub):
    conn = stub.connection()
    conn.request("POST", "/x/event_ms=50,events=40/v1/chat/completions",
                 body=chat_body(stream=True), headers=JSON)
    resp = conn.getresponse()
    assert resp.readline().startswith(b"data: ")
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    time.sleep(0.3)  # several more events are due while nobody listens
    status, body = get(stub, "/_stub/health")
    assert (status, body) == (200, b"ok")
    status, _, _ = post(stub, CHAT, chat_body())
    assert status == 200


# ---------------------------------------------------------------------------------------------
# Failures and timing


def test_close_directive(stub):
    with pytest.raises(ConnectionError):
        post(stub, "/x/close=1/v1/chat/completions", chat_body())
    status, _, _ = post(stub, CHAT, chat_body())
    assert status == 200


def test_hang_directive(stub):
    t0 = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout)):
        post(stub, "/x/hang=1/v1/chat/completions", chat_body(), timeout=0.5)
    assert time.monotonic() - t0 >= 0.45
    status, _, _ = post(stub, CHAT, chat_body())
    assert status == 200


def test_delay_ms(stub):
    t0 = time.monotonic()
    status, _, _ = post(stub, CHAT, chat_body())
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    status, _, b = post(stub, "/x/delay_ms=300/v1/chat/completions", chat_body())
    slow = time.monotonic() - t0
    assert status == 200
    assert json.loads(b)["choices"][0]["message"]["content"] == "tok0 tok1 tok2"
    assert slow >= 0.3
    assert fast < 0.25


def test_delay_then_status_and_delay_then_stream(stub):
    t0 = time.monotonic()
    status, _, _ = post(stub, "/x/delay_ms=200,status=429/v1/chat/completions", chat_body())
    assert status == 429 and time.monotonic() - t0 >= 0.2
    conn = stub.connection()
    t0 = time.monotonic()
    conn.request("POST", "/x/delay_ms=200,events=2/v1/chat/completions",
                 body=chat_body(stream=True), headers=JSON)
    resp = conn.getresponse()
    assert time.monotonic() - t0 >= 0.2
    events = read_events(resp)
    conn.close()
    assert content_of(events) == "tok0 tok1 " and events[-1] == "[DONE]"


# ---------------------------------------------------------------------------------------------
# Recording, auth, connections


def test_recording_memory_file_and_reset(stub_bin, tmp_path):
    log = tmp_path / "requests.jsonl"
    with Stub(stub_bin, record=log) as s:
        body = chat_body("recorded words")
        before = time.time() * 1000
        status, _, _ = post(s, "/x/events=1/v1/chat/completions?q=1", body,
                            headers={"X-Test-Header": "abc", "Authorization": "Bearer k1"})
        assert status == 200
        get(s, "/_stub/health")  # not a /v1 request: not recorded
        recs = s.requests()
        assert len(recs) == 1
        r = recs[0]
        assert r["method"] == "POST"
        assert r["path"] == "/x/events=1/v1/chat/completions?q=1"
        assert r["headers"]["x-test-header"] == "abc"
        assert r["headers"]["authorization"] == "Bearer k1"
        assert r["headers"]["content-type"] == "application/json"
        assert r["body"] == body
        assert before - 1000 <= r["time_ms"] <= time.time() * 1000 + 1000
        lines = log.read_text().splitlines()
        assert [json.loads(x) for x in lines] == recs

        s.reset()
        assert s.requests() == []
        status, _ = get(s, "/v1/models")
        assert [x["path"] for x in s.requests()] == ["/v1/models"]
        assert len(log.read_text().splitlines()) == 2  # reset keeps the file


def test_recording_non_utf8_body(stub):
    conn = stub.connection()
    conn.request("POST", CHAT, body=b'{"x":"\xff"}', headers=JSON)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 400  # not valid UTF-8, so not JSON for jansson
    recs = stub.requests()
    assert recs[-1]["body"] == '{"x":"\u00ff"}'  # recorded as Latin-1


def test_recording_utf8_and_repeated_headers(stub):
    raw = '{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \u2603"}]}'
    conn = stub.connection()
    conn.putrequest("POST", CHAT)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("X-Dup", "one")
    conn.putheader("x-dup", "two")
    conn.putheader("Content-Length", str(len(raw.encode())))
    conn.endheaders(raw.encode())
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert doc["usage"]["prompt_tokens"] == 2
    r = stub.requests()[-1]
    assert r["body"] == raw  # UTF-8 kept as is
    assert r["headers"]["x-dup"] == "one, two"


def test_api_key(stub_bin):
    with Stub(stub_bin, api_key="sekret") as s:
        status, _, b = post(s, CHAT, chat_body())
        assert status == 401
        assert json.loads(b)["error"]["code"] == "invalid_api_key"
        status, _, _ = post(s, CHAT, chat_body(), headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, _ = post(s, CHAT, chat_body(), headers={"Authorization": "Bearer sekret2"})
        assert status == 401
        status, _, _ = post(s, CHAT, chat_body(), headers={"Authorization": "Bearer sekret"})
        assert status == 200
        assert get(s, "/_stub/health")[0] == 200  # stub routes need no key
        assert len(s.requests()) == 4  # rejected requests are recorded too


def test_echo_auth(stub):
    _, _, b = post(stub, "/x/echo_auth=1,events=1/v1/chat/completions", chat_body(),
                   headers={"Authorization": "Bearer sk-leak\"y"})
    content = json.loads(b)["choices"][0]["message"]["content"]
    assert content == 'Bearer sk-leak"y tok0'
    _, _, b = post(stub, CHAT, chat_body(), headers={"Authorization": "Bearer sk-leak"})
    assert "sk-leak" not in json.loads(b)["choices"][0]["message"]["content"]
    conn = stub.connection()
    conn.request("POST", "/x/echo_auth=1,events=2/v1/chat/completions",
                 body=chat_body(stream=True),
                 headers=dict(JSON, Authorization="Bearer sk-stream"))
    events = read_events(conn.getresponse())
    conn.close()
    assert content_of(events) == "Bearer sk-stream tok0 tok1 "


def test_keep_alive(stub):
    conn = stub.connection()
    conn.request("POST", CHAT, body=chat_body(), headers=JSON)
    r1 = conn.getresponse()
    assert r1.status == 200 and json.loads(r1.read())["object"] == "chat.completion"
    assert not r1.will_close
    sock = conn.sock
    assert sock is not None
    conn.request("GET", "/v1/models")
    r2 = conn.getresponse()
    assert r2.status == 200 and json.loads(r2.read())["object"] == "list"
    assert conn.sock is sock  # same TCP connection, not a reconnect
    conn.request("POST", "/x/events=2/v1/chat/completions", body=chat_body(stream=True),
                 headers=JSON)
    assert content_of(read_events(conn.getresponse())) == "tok0 tok1 "
    conn.request("POST", CHAT, body=chat_body(), headers=JSON)
    assert conn.getresponse().read()
    assert conn.sock is sock
    conn.close()


def test_workers_share_port_and_record_safely(stub_bin):
    with Stub(stub_bin, workers=2) as s:
        results = []

        def client():
            for _ in range(25):
                status, _, b = post(s, CHAT, chat_body())
                results.append((status, json.loads(b)["id"]))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 100
        assert all(st == 200 for st, _ in results)
        assert len({i for _, i in results}) == 100  # ids unique across workers
        recs = s.requests()
        assert len(recs) == 100
        assert all(r["path"] == CHAT for r in recs)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl tool")
def test_tls(stub_bin, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with Stub(stub_bin, tls=(cert, key)) as s:
        assert s.base_url.startswith("https://")
        status, _, b = post(s, CHAT, chat_body())
        assert status == 200
        assert json.loads(b)["choices"][0]["message"]["content"] == "tok0 tok1 tok2"
        conn = s.connection()
        conn.request("POST", "/x/events=2/v1/chat/completions", body=chat_body(stream=True),
                     headers=JSON)
        assert content_of(read_events(conn.getresponse())) == "tok0 tok1 "
        conn.close()
        plain = http.client.HTTPConnection("127.0.0.1", s.port, timeout=3)
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            plain.request("GET", "/v1/models")
            plain.getresponse().read()
        plain.close()
        assert len(s.requests()) == 2
    assert s.returncode == 0


def test_sigterm_with_requests_in_flight(stub_bin):
    s = Stub(stub_bin).start()
    hung = socket.create_connection(("127.0.0.1", s.port))
    body = chat_body().encode()
    hung.sendall(b"POST /x/hang=1/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (len(body), body))
    streaming = s.connection()
    streaming.request("POST", "/x/event_ms=1000,events=10/v1/chat/completions",
                      body=chat_body(stream=True), headers=JSON)
    resp = streaming.getresponse()
    assert resp.readline().startswith(b"data: ")
    time.sleep(0.1)
    assert s.stop() == 0
    hung.close()
    streaming.close()
