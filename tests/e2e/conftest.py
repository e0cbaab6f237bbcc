"""Fixtures for black-box tests: the real castellan binary, set up with `castellan init`,
serving in front of the stub upstream on loopback, driven with real clients (http.client,
ssl, curl)."""
import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import time

import pytest

from stub import Stub

CASTELLAN = os.environ.get("CASTELLAN_BIN", "build/castellan")
STUB_BIN = os.environ.get("STUB_BIN", "build/stub_upstream")


_HANDED_OUT = set()


def free_port():
    """A loopback port free now, for a server started later. Chosen below the kernel's
    ephemeral range: a port from that range (what binding port 0 gives) can be taken as the
    local end of any outgoing connection before the server binds it. Never the same port twice
    in one run."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            hi = min(32000, int(f.read().split()[0]) - 1)
    except (OSError, ValueError, IndexError):
        hi = 32000
    for _ in range(10000):
        port = random.randint(10000, hi)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise AssertionError("no free port below the ephemeral range")


def run(*args, check=True, **kw):
    p = subprocess.run([CASTELLAN, *args], capture_output=True, text=True, timeout=60, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"castellan {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


class Gateway:
    """A castellan setup in a temporary directory: init, keys, serve, clients, records."""

    def __init__(self, tmp, upstream_url, model="demo-model", extra_config="", tls=True):
        self.dir = str(tmp / "gw")
        self.port = free_port()
        self.admin_port = free_port()
        run("init", self.dir, "--upstream", upstream_url, "--model", model,
            "--port", str(self.port), "--admin-port", str(self.admin_port))
        self.config = os.path.join(self.dir, "castellan.yaml")
        self.ca = os.path.join(self.dir, "tls", "ca.crt")
        self.tls = tls
        if extra_config or not tls:
            self.edit_config(extra_config, tls)
        self.proc = None

    def edit_config(self, extra, tls=True):
        text = open(self.config).read()
        if not tls:
            text = text.replace("    enabled: true\n", "    enabled: false\n").replace(
                "    client_ca: tls/ca.crt        # client certificates as an alternative identity\n", "")
        # extra: top-level YAML sections that replace the generated ones of the same name.
        for block in [b for b in extra.split("\n\n") if b.strip()]:
            key = block.split(":", 1)[0].strip()
            lines, out, skip = text.split("\n"), [], False
            for line in lines:
                if line and not line.startswith((" ", "#")):
                    skip = line.startswith(key + ":")
                if not skip:
                    out.append(line)
            text = "\n".join(out).rstrip("\n") + "\n" + block.strip("\n") + "\n"
        open(self.config, "w").write(text)

    def apikey(self, principal="alice", models="demo-model", *extra):
        p = run("apikey", "create", "-c", self.config, "--principal", principal, "--models",
                models, *extra)
        key = p.stdout.strip()
        assert key.startswith("cst_")
        if self.proc:
            time.sleep(0.6)  # the running gateway picks up state changes within 250 ms
        return key

    def start(self, env=None, timeout=15):
        self.proc = subprocess.Popen([CASTELLAN, "serve", "-c", self.config], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("serve exited: " + self.proc.stderr.read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", self.admin_port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("gateway did not start")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def ssl_context(self, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def conn(self, timeout=10, cert=None, key=None):
        if not self.tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection("localhost", self.port, timeout=timeout,
                                           context=self.ssl_context(cert, key))

    def request(self, method, path, body=None, key=None, headers=None, conn=None, timeout=10):
        c = conn or self.conn(timeout=timeout)
        h = {"Content-Type": "application/json"}
        if key:
            h["Authorization"] = "Bearer " + key
        h.update(headers or {})
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if conn is None:
            c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), parsed, raw

    def chat(self, key, content="hello world", model="demo-model", **params):
        body = {"model": model, "messages": [{"role": "user", "content": content}], **params}
        return self.request("POST", "/v1/chat/completions", body, key=key)

    def admin(self, *args, check=True):
        return run("admin", "-c", self.config, *args, check=check)

    def log_lines(self):
        """`castellan log show` of the audit log: one strict JSON object per record."""
        p = run("log", "show", os.path.join(self.dir, "log"))
        out = p.stdout.encode("utf-8", errors="strict")
        return [json.loads(l) for l in out.decode("utf-8", errors="strict").split("\n") if l]

    def records(self, want=None, timeout=5):
        """Records of the audit log, oldest first; waits until `want` (a request id) is present."""
        deadline = time.time() + timeout
        while True:
            recs = [l["record"] for l in self.log_lines() if "record" in l]
            if want is None or any(r.get("request_id") == want for r in recs) or time.time() > deadline:
                return recs
            time.sleep(0.05)

    def record(self, request_id):
        recs = [r for r in self.records(want=request_id) if r.get("request_id") == request_id]
        assert len(recs) == 1, f"expected one record for {request_id}, got {len(recs)}"
        return recs[0]


@pytest.fixture
def stub(tmp_path):
    s = Stub(STUB_BIN, record=str(tmp_path / "stub.jsonl"), api_key="upstream-secret-XYZ")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def make_gateway(tmp_path, stub):
    made = []

    def make(extra_config="", tls=True, upstream_path="/v1", start=True, upstream=None):
        url = upstream or (stub.base_url + upstream_path)
        g = Gateway(tmp_path, url, extra_config=extra_config, tls=tls)
        # The upstream credential lives in a file the gateway reads; clients never see it.
        secret = os.path.join(g.dir, "upstream.key")
        with open(secret, "w") as f:
            f.write("upstream-secret-XYZ\n")
        text = open(g.config).read().replace("    # api_key_file: upstream.key",
                                               "    api_key_file: upstream.key")
        open(g.config, "w").write(text)
        made.append(g)
        return g.start() if start else g

    yield make
    for g in made:
        g.stop()
