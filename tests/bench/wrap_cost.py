#!/usr/bin/env python3
"""What a wrap middleware costs a request: each `next()` runs the rest of the chain in a
sandbox of its own (README, "Middleware"). Serves one program with the same handler behind
0, 1 and 2 wraps (and behind a post middleware, which runs in the handler's sandbox) with
`fitz run`, and times sequential GETs over one kept-alive connection, the routes interleaved
round by round so the machine's noise falls on all of them alike. Prints the median and p90
per route and each one's ratio to the plain route measured in the same run.

    cargo build --release -p fitz-host
    python3 tests/bench/wrap_cost.py [FITZ_BINARY] [REQUESTS_PER_ROUTE]
"""
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROGRAM = """
fn pass(req: Request, next: Fn() -> Response) -> Response {
    return next()
}

fn also(req: Request, next: Fn() -> Response) -> Response {
    return next()
}

fn stamp(req: Request, resp: Response) -> Response {
    return resp
}

@get("/plain")
fn plain() -> Map<Str, Int> => {"n": 1}

@middleware(stamp)
@get("/post")
fn post() -> Map<Str, Int> => {"n": 1}

@middleware(pass)
@get("/wrap1")
fn wrap1() -> Map<Str, Int> => {"n": 1}

@middleware(pass)
@middleware(also)
@get("/wrap2")
fn wrap2() -> Map<Str, Int> => {"n": 1}
"""

ROUTES = ["/plain", "/post", "/wrap1", "/wrap2"]


def main():
    fitz = sys.argv[1] if len(sys.argv) > 1 else "target/release/fitz"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    port = 3917
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "wraps.fitz")
        with open(path, "w") as f:
            f.write(PROGRAM)
        env = dict(os.environ, FITZ_LOG="warn")
        server = subprocess.Popen([fitz, "run", path, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            conn = None
            for _ in range(200):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port)
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
                    break
                except OSError:
                    conn = None
                    time.sleep(0.05)
            if conn is None:
                sys.exit("the server did not start")
            times = {r: [] for r in ROUTES}
            for i in range(n + 100):
                for r in ROUTES:
                    t = time.perf_counter()
                    conn.request("GET", r)
                    res = conn.getresponse()
                    body = res.read()
                    elapsed = time.perf_counter() - t
                    if res.status != 200 or body != b'{"n":1}':
                        sys.exit(f"{r}: {res.status} {body!r}")
                    if i >= 100:  # the first rounds warm up
                        times[r].append(elapsed)
        finally:
            server.terminate()
            server.wait()
    base = statistics.median(times["/plain"])
    print(f"{n} sequential GETs per route, interleaved; one connection kept alive")
    print("| route | median | p90 | median / plain |")
    print("|---|---|---|---|")
    for r in ROUTES:
        ts = sorted(times[r])
        med, p90 = statistics.median(ts), ts[int(len(ts) * 0.9)]
        print(f"| `{r}` | {med * 1e6:.0f} µs | {p90 * 1e6:.0f} µs | {med / base:.2f} |")


if __name__ == "__main__":
    main()
