"""A scripted model server for the black-box tests: answers every POST with the bytes the test
chose, so a test can send exactly the server-sent events (fields, fragment boundaries, tool-call
deltas) a real model server might, deterministically.

    with Scripted(lambda req: ("text/event-stream", body)) as up:
        g = make_gateway(upstream=up.url, ...)

answer(req) gets the decoded JSON request and returns (content type, body bytes), or
(status, content type, body bytes) for an answer other than 200, or (status, content type,
body bytes, "close") for a body without a length that the connection's close ends. Standard
library only; the server thread ends when the context exits.
"""
import http.server
import json
import threading


def chunk(delta=None, fin=None, index=0, fields="", choices=None):
    """One chat.completion.chunk event: fields (e.g. "id: 1\\nevent: x\\n") then its data."""
    if choices is None:
        choices = [{"index": index, "delta": delta if delta is not None else {},
                    "finish_reason": fin}]
    return fields + "data: " + compact({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                                        "model": "demo-model", "choices": choices}) + "\n\n"


def compact(obj):
    """JSON as the gateway writes it (jansson, JSON_COMPACT: no spaces, order kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Scripted:
    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(req)
                got = tuple(outer.answer(req))
                got = got if len(got) >= 3 else (200,) + got
                status, ctype, body = got[:3]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if got[3:] == ("close",):
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/v1" % self.srv.server_port
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        return False
