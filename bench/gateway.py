"""Gateway benchmark: one run, side by side, on loopback.

  (a) the stub model server direct,
  (b) nginx (Debian package) as a reverse proxy to it (keep-alive upstream, access log on),
      over HTTP and over HTTPS,
  (c) castellan over HTTP and over HTTPS, with API-key authentication, authorisation, rate,
      token and concurrency limits (set high enough not to bind) and invocation records on.

Maximum load: wrk closed loop, the targets taking turns for --rounds rounds; prints the median
requests/s, p50 and p99 of each target and the median of the per-round ratios castellan/nginx.
Half load: at half of castellan's maximum rate (paced with wrk's delay()), rounds of direct,
nginx and castellan; prints the p99 castellan adds over the direct path (median over rounds)
and, for reference, what nginx adds at the same rate. Then the resident memory of castellan
holding --streams concurrent idle streams over TLS. Goals (issue #2): throughput >= 0.7x
nginx, added p99 at half load <= 1 ms, 1,000 idle streams <= 100 MB resident in total. Exit
status 0 only if every goal is met. BENCH_VERBOSE=1 prints every maximum-load round.

usage: gateway.py CASTELLAN_BIN STUB_BIN [--duration S] [--connections N] [--streams N]
                  [--rounds N]
"""
import argparse
import json
import os
import pathlib
import resource
from statistics import median
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
import conftest  # noqa: E402
from conftest import Gateway, free_port  # noqa: E402
from stub import Stub  # noqa: E402

GOAL_RATIO = 0.7
GOAL_ADDED_P99_MS = 1.0
GOAL_STREAMS_MB = 100.0
PACE_MS = 10  # pause between requests on one connection in the half-load runs

NGINX_CONF = """
worker_processes {workers};
daemon off;
master_process on;
user root root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log {dir}/access.log combined buffer=64k flush=1s;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream model {{ server 127.0.0.1:{stub_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{http_port};
    listen 127.0.0.1:{https_port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{
      proxy_pass http://model;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def wait_port(port, proc, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not open port {port}")


def start_nginx(tmp, stub_port, cert, key, workers):
    d = tmp / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    http_port, https_port = free_port(), free_port()
    (d / "nginx.conf").write_text(NGINX_CONF.format(
        workers=workers, dir=d, stub_port=stub_port, http_port=http_port,
        https_port=https_port, cert=cert, key=key))
    proc = subprocess.Popen(["nginx", "-p", str(d), "-c", str(d / "nginx.conf"), "-e",
                             str(d / "error.log")], stdin=subprocess.DEVNULL)
    wait_port(http_port, proc, "nginx")
    wait_port(https_port, proc, "nginx")
    return proc, http_port, https_port


def wrk(url, key, connections, seconds, pace_ms=0, threads=2):
    env = dict(os.environ, BENCH_KEY=key or "", BENCH_DELAY_MS=str(pace_ms))
    threads = max(1, min(threads, connections))
    p = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                        "--timeout", "5s", "-s", str(HERE / "wrk_request.lua"), url],
                       capture_output=True, text=True, env=env, timeout=seconds + 60)
    line = next((l for l in p.stdout.splitlines() if l.startswith("BENCH ")), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"wrk {url} failed ({p.returncode}): {p.stdout}{p.stderr}")
    r = json.loads(line[6:])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    if r["non2xx"] or r["errors"]:
        raise SystemExit(f"wrk {url}: {r['non2xx']} non-2xx responses and {r['errors']} "
                         f"socket errors out of {r['requests']}; the comparison would be void")
    return r


def row(name, r):
    print(f"  {name:<28} {r['rps']:>10.0f} {r['p50_us'] / 1000:>9.3f} "
          f"{r['p99_us'] / 1000:>9.3f}")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS")


def open_streams(gw, key, n):
    """Opens n streaming chat completions over TLS and waits for each one's first event."""
    ctx = gw.ssl_context()
    body = json.dumps({"model": "demo-model", "stream": True,
                       "messages": [{"role": "user", "content": "Say hello."}]}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    socks = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw.port), timeout=10),
                            server_hostname="localhost")
        s.sendall(head + body)
        got = b""
        while b"data: " not in got:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit(f"stream {len(socks)} closed early: {got[:200]!r}")
            got += chunk
        if not got.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"stream {len(socks)} refused: {got[:200]!r}")
        socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("castellan")
    ap.add_argument("stub")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="max-load rounds (medians reported)")
    args = ap.parse_args()
    conftest.CASTELLAN = os.path.abspath(args.castellan)  # read by Gateway at each call
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workers = os.cpu_count()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="castellan-bench-"))
    procs = []
    try:
        stub = Stub(os.path.abspath(args.stub), workers=workers,
                    extra_args=["--record-max", "0"]).start()
        procs.append(stub)
        limits = ["--rpm", "1000000000", "--tpm", "1000000000000", "--concurrency", "100000"]
        gws = {}
        for name, tls in (("http", False), ("https", True)):
            (tmp / name).mkdir()
            g = Gateway(tmp / name, stub.base_url + "/v1", tls=tls)
            key = g.apikey("bench", "demo-model", *limits)
            g.start()
            procs.append(g)
            gws[name] = (g, key)
        g0 = gws["https"][0]
        ngx, ngx_http, ngx_https = start_nginx(tmp, stub.port, f"{g0.dir}/tls/server.crt",
                                               f"{g0.dir}/tls/server.key", workers)
        targets = {
            "stub direct": (stub.base_url, None),
            "nginx http": (f"http://127.0.0.1:{ngx_http}", None),
            "nginx https": (f"https://127.0.0.1:{ngx_https}", None),
            "castellan http": (f"http://127.0.0.1:{gws['http'][0].port}", gws["http"][1]),
            "castellan https": (f"https://127.0.0.1:{gws['https'][0].port}", gws["https"][1]),
        }
        c, d, rounds = args.connections, args.duration, args.rounds
        print(f"castellan benchmark: {workers} cores, wrk -t2 -c{c} -d{d}s, POST "
              f"/v1/chat/completions, every process on this machine's loopback")
        print(f"\nmaximum load (closed loop, {c} connections; {rounds} rounds, the targets "
              f"taking turns; medians)")
        print(f"  {'target':<28} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
        for url, key in targets.values():
            wrk(url, key, c, 1)  # warm-up: connection pools, TLS sessions, page cache
        runs = {name: [] for name in targets}
        for _ in range(rounds):
            for name, (url, key) in targets.items():
                runs[name].append(wrk(url, key, c, d))
                if os.environ.get("BENCH_VERBOSE"):
                    print(f"    round: {name} {runs[name][-1]['rps']:.0f}", flush=True)
        peak = {name: {k: median([r[k] for r in rs]) for k in ("rps", "p50_us", "p99_us")}
                for name, rs in runs.items()}
        for name in targets:
            row(name, peak[name])
        # Ratios are taken within each round (same conditions), then the median.
        ratios = {s: median([a["rps"] / b["rps"] for a, b in
                             zip(runs[f"castellan {s}"], runs[f"nginx {s}"])])
                  for s in ("http", "https")}
        for s, v in ratios.items():
            print(f"  ratio castellan/nginx ({s}): {v:.2f}  (goal >= {GOAL_RATIO})")

        print(f"\nhalf load (paced: each connection pauses {PACE_MS} ms between requests; "
              f"{rounds} rounds of direct, nginx, castellan; medians)")
        print(f"  {'target':<28} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
        added = {}
        for s in ("http", "https"):
            rate = peak[f"castellan {s}"]["rps"] / 2
            conns = max(1, round(rate * PACE_MS / 1000))
            names = ("stub direct", f"nginx {s}", f"castellan {s}")
            sets = [[wrk(targets[n][0], targets[n][1], conns, d, PACE_MS) for n in names]
                    for _ in range(rounds)]
            for i, name in enumerate(names):
                row(f"{name} @{rate:.0f}/s", {k: median([r[i][k] for r in sets])
                                              for k in ("rps", "p50_us", "p99_us")})
            added[s] = median([(r[2]["p99_us"] - r[0]["p99_us"]) / 1000 for r in sets])
            ngx_added = median([(r[1]["p99_us"] - r[0]["p99_us"]) / 1000 for r in sets])
            print(f"  castellan {s} adds {added[s]:.3f} ms at p99 (goal <= {GOAL_ADDED_P99_MS}); "
                  f"nginx adds {ngx_added:.3f} ms at the same rate")

        recs = len(gws["http"][0].log_lines())
        print(f"\nrecords in the audit log of castellan http: {recs}")

        print(f"\nidle streams (TLS, each upstream stream sends its first event and then waits)")
        (tmp / "streams").mkdir()
        gs = Gateway(tmp / "streams", stub.base_url + "/x/event_ms=3600000,events=1/v1")
        skey = gs.apikey("bench", "demo-model", *limits)
        gs.start()
        procs.append(gs)
        gs.chat(skey)  # warm-up
        before = rss_kib(gs.proc.pid)
        socks = open_streams(gs, skey, args.streams)
        time.sleep(1)
        after = rss_kib(gs.proc.pid)
        mb = after / 1024
        print(f"  castellan RSS: {before / 1024:.1f} MB idle, {mb:.1f} MB with {len(socks)} "
              f"open streams ({(after - before) / len(socks):.1f} KiB per stream)"
              f"  (goal <= {GOAL_STREAMS_MB:.0f} MB)")
        for s in socks:
            s.close()

        ok = (all(v >= GOAL_RATIO for v in ratios.values()) and
              all(v <= GOAL_ADDED_P99_MS for v in added.values()) and mb <= GOAL_STREAMS_MB)
        print(f"\ngoals met: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        if "ngx" in locals():
            ngx.terminate()
            ngx.wait(timeout=10)
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    sys.exit(main())
