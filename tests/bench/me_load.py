#!/usr/bin/env python3
"""GET /me on PostgreSQL under load: Fitz (the seed program, unchanged, in wasmtime) against
the same API in plain Rust (tests/bench/plain: axum + sqlx, no sandbox), in one run.

Each server gets its own fresh database with one admin user (hash by argon2-cffi), logs in,
checks that /me answers 200 with the same body, is warmed up, then loaded with wrk over
loopback in alternating rounds (the machine is shared and noisy). Prints the medians of
requests/s, p50 and p99, the errors, and the ratio Fitz / plain.

    python3 tests/bench/me_load.py [--seconds 5] [--rounds 5] [--connections 32]

Needs: wrk, psql, PostgreSQL on 127.0.0.1:5432 (user postgres, trust), argon2-cffi; builds
the release binaries first.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG = "postgres://postgres@127.0.0.1:5432"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
PASSWORD = "bench password"


def psql(db, sql, **vars):
    args = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db]
    for k, v in vars.items():
        args += ["-v", f"{k}={v}"]
    subprocess.run(args + ["-f", "-"], input=sql, text=True, check=True, capture_output=True)


def request(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_up(base):
    for _ in range(600):
        try:
            request("GET", base + "/me")
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{base} did not come up")


def wrk(url, token, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True).stdout

    def ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in socket.groups()) if socket else 0)
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "errors": errors}


class Server:
    """One server on its own fresh database, with one admin user and a token."""

    def __init__(self, name, cmd, port, connections, extra_env=None):
        self.name, self.port = name, port
        self.db = f"fitz_bench_{name}"
        psql("postgres", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE); CREATE DATABASE {self.db};")
        env = dict(os.environ, DATABASE_URL=f"{PG}/{self.db}", JWT_SECRET=SECRET, FITZ_LOG="warn")
        env.update(extra_env or {})
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        wait_up(self.base)
        from argon2 import PasswordHasher
        h = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(PASSWORD)
        psql(self.db, "INSERT INTO users (email, name, role, password_hash) VALUES ('ada@x.io', 'Ada', 'admin', :'h');", h=h)
        status, body = request("POST", self.base + "/login", {"email": "ada@x.io", "password": PASSWORD})
        assert status == 200, (name, status, body)
        self.token = body["token"]
        status, self.me = request("GET", self.base + "/me", token=self.token)
        assert status == 200 and self.me["email"] == "ada@x.io", (name, status, self.me)
        wrk(self.base + "/me", self.token, 3, connections)  # warm-up

    def load(self, seconds, connections):
        return wrk(self.base + "/me", self.token, seconds, connections)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        psql("postgres", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE);")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=int, default=5, help="length of one round")
    p.add_argument("--rounds", type=int, default=5, help="rounds per server, alternating")
    p.add_argument("--connections", type=int, default=32)
    args = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "fitz-host", "-p", "fitz-bench-plain"], cwd=ROOT, check=True)
    seed = os.path.join(ROOT, "examples/seed/auth.fitz")
    servers = []
    try:
        servers.append(Server("fitz", [os.path.join(ROOT, "target/release/fitz"), "run", seed, "--port", "3801"], 3801, args.connections))
        plain = os.path.join(ROOT, "target/release/plain-auth")
        servers.append(Server("plain", [plain, "3802"], 3802, args.connections))
        servers.append(Server("plain_noping", [plain, "3803"], 3803, args.connections, {"PLAIN_PING": "0"}))
        for other in servers[1:]:
            fitz_me, plain_me = dict(servers[0].me), dict(other.me)
            # Same body, but for the salted hash each database got.
            assert fitz_me.pop("password_hash") != plain_me.pop("password_hash")
            assert fitz_me == plain_me, (fitz_me, plain_me)
        runs = {s.name: [] for s in servers}
        for r in range(args.rounds):
            # Rotate the order so no server always runs on a warmer machine.
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for s in order:
                runs[s.name].append(s.load(args.seconds, args.connections))
    finally:
        for s in servers:
            s.stop()
    print(f"GET /me on PostgreSQL, wrk -t1 -c{args.connections}, {args.rounds} alternating rounds of {args.seconds}s over loopback; medians")
    print(f"{'server':<28}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    summary = {}
    rows = [("Fitz (wasmtime sandbox)", "fitz"), ("plain Rust, sqlx defaults", "plain"), ("plain Rust, no ping (as Fitz)", "plain_noping")]
    print("(Fitz's pool does not ping on checkout; 'plain Rust, no ping' uses the same pool setting)")
    for label, name in rows:
        rs = runs[name]
        summary[name] = {k: median([x[k] for x in rs]) for k in ("rps", "p50", "p99")}
        summary[name]["errors"] = sum(x["errors"] for x in rs)
        r = summary[name]
        print(f"{label:<28}{r['rps']:>12.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>8}")
    for label, name in rows[1:]:
        ratios = [f["rps"] / p["rps"] for f, p in zip(runs["fitz"], runs[name])]
        print(f"throughput ratio Fitz / {label}: {summary['fitz']['rps'] / summary[name]['rps']:.2f}x "
              f"(per round: {', '.join(f'{x:.2f}' for x in ratios)})")
    if any(summary[name]["errors"] for _, name in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
