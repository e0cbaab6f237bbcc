"""Drives tests/stub/stub_upstream.c, the deterministic OpenAI-compatible upstream of the
black-box tests.

Stub(bin_path, ...) starts the binary on a free loopback port, waits for its "listening on PORT"
line and exposes .port and .base_url; .requests() and .reset() read and clear what it recorded;
.stop() ends it with SIGTERM. Standard library only. It never leaves a process behind: a start
that fails, a context that exits, and stop() all reap the child.
"""

import http.client
import json
import os
import select
import signal
import ssl
import subprocess
import time


class StubError(RuntimeError):
    """The stub could not be started or answered unexpectedly."""


class Stub:
    """One stub_upstream process.

    record: path of the JSON-lines request log (--record), or None.
    api_key: key every /v1 request must present as "Authorization: Bearer KEY", or None.
    workers: event-loop threads sharing the port (--workers).
    tls: (cert_path, key_path) to serve HTTPS, or None.
    defaults: process-wide directives, e.g. "events=5,usage=0", or None.
    extra_args: further command-line arguments, appended as given.
    """

    def __init__(self, bin_path, *, record=None, api_key=None, workers=1, tls=None,
                 defaults=None, extra_args=(), start_timeout=10.0):
        self.bin_path = bin_path
        self.record = record
        self.api_key = api_key
        self.workers = workers
        self.tls = tls
        self.defaults = defaults
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.base_url = None
        self.returncode = None

    def argv(self):
        args = [self.bin_path, "--host", "127.0.0.1", "--port", "0",
                "--workers", str(self.workers)]
        if self.record is not None:
            args += ["--record", str(self.record)]
        if self.api_key is not None:
            args += ["--api-key", self.api_key]
        if self.tls is not None:
            args += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        if self.defaults is not None:
            args += ["--defaults", self.defaults]
        return args + self.extra_args

    def start(self):
        """Spawns the stub and waits for its port. Raises StubError on exit or timeout."""
        if self.proc is not None:
            raise StubError("already started")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, bufsize=0)
        try:
            line = self._read_line(self.start_timeout)
            words = line.split()
            if len(words) != 3 or words[:2] != [b"listening", b"on"]:
                raise StubError("unexpected first line from stub: %r" % line)
            self.port = int(words[2])
        except BaseException:
            self._kill()
            raise
        scheme = "https" if self.tls is not None else "http"
        self.base_url = "%s://127.0.0.1:%d" % (scheme, self.port)
        return self

    def _read_line(self, timeout):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise StubError("stub did not report its port within %.1fs" % timeout)
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 256)
            if not chunk:
                rc = self.proc.wait(timeout=5)
                raise StubError("stub exited with status %s before listening" % rc)
            buf += chunk
        return buf

    def connection(self, timeout=10.0):
        """A new http.client connection to the stub (TLS certificates are not verified)."""
        if self.port is None:
            raise StubError("not started")
        if self.tls is not None:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def _call(self, method, path):
        conn = self.connection()
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise StubError("%s %s: HTTP %d %r" % (method, path, resp.status, body))
            return body
        finally:
            conn.close()

    def requests(self):
        """The recorded /v1 requests, oldest first, as a list of dicts."""
        return json.loads(self._call("GET", "/_stub/requests"))

    def reset(self):
        """Forgets the recorded requests (the --record file is kept)."""
        self._call("POST", "/_stub/reset")

    def stop(self, timeout=10.0):
        """Sends SIGTERM and waits; kills after timeout. Returns the exit status."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reap()
        return self.returncode

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reap()

    def _reap(self):
        self.returncode = self.proc.returncode
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
