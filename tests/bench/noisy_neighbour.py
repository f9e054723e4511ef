#!/usr/bin/env python3
"""A well-behaved tenant's latency next to a tenant that loops in every request it may run.

Starts `fitz host` (each binary given, in turn, on a fresh data directory), deploys two apps
compiled from Fitz — `well` (a small JSON answer) and `hog` (a loop, cut off at its 2 s
deadline) — and measures `well` with wrk (-t1 -c4, --latency) alone, then while 32 clients
keep `hog` busy (its default concurrency). Prints p50 and p99 of `well` in both and the host's
CPU use (cores) during the hog's load. Used for the "A noisy neighbour" figures in
BENCHMARKS.md.

    cargo build --release -p fitz-host
    python3 tests/bench/noisy_neighbour.py [--seconds 6] [--rounds 2] BINARY...
    e.g. python3 tests/bench/noisy_neighbour.py /tmp/fitz-before target/release/fitz
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "noisy-neighbour-operator-token"
WELL = '@get("/ok/{n}")\nfn ok(n: Int) -> Map<Str, Int> => { "n": n, "square": n * n }\n'
HOG = '@get("/spin")\nfn spin() -> Int {\n    let n = 0\n    while true {\n        n += 1\n    }\n    return n\n}\n'


def start(binary, data):
    env = dict(os.environ, FITZ_OPERATOR_TOKEN=TOKEN, FITZ_LOG="warn", FITZ_APP_LIMITS='{"request_ms": 2000}')
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([binary, "host", "--port", "0", "--data", data], env=env, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        m = re.search(r"serving on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    raise SystemExit(f"{binary}: no banner")


def deploy(binary, base, name, source, tmp):
    path = os.path.join(tmp, f"{name}.fitz")
    with open(path, "w") as f:
        f.write(source)
    env = dict(os.environ, FITZ_OPERATOR_TOKEN=TOKEN)
    subprocess.run([binary, "deploy", path, "--to", base, "--name", name], env=env, check=True, capture_output=True)


def wrk(base, app, path, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Host: {app}.localhost", base + path],
        capture_output=True, text=True, check=True).stdout
    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\b", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return pct(50), pct(99), rps


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(binary, seconds):
    tmp = tempfile.mkdtemp(prefix="fitz-noisy-")
    proc, base = start(binary, os.path.join(tmp, "data"))
    try:
        deploy(binary, base, "well", WELL, tmp)
        deploy(binary, base, "hog", HOG, tmp)
        wrk(base, "well", "/ok/7", 1, 4)
        alone = wrk(base, "well", "/ok/7", seconds, 4)
        hog = subprocess.Popen(["wrk", "-t1", "-c32", f"-d{seconds + 4}s", "-H", "Host: hog.localhost", base + "/spin"],
                               stdout=subprocess.DEVNULL)
        time.sleep(2)
        c0, t0 = cpu_seconds(proc.pid), time.time()
        beside = wrk(base, "well", "/ok/7", seconds, 4)
        cores = (cpu_seconds(proc.pid) - c0) / (time.time() - t0)
        hog.wait()
        return alone, beside, cores
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; well: wrk -t1 -c4; hog: wrk -t1 -c32 on a loop cut off at 2 s")
    for r in range(1, args.rounds + 1):
        for b in args.binaries:
            (p50a, p99a, rpsa), (p50b, p99b, rpsb), cores = measure(b, args.seconds)
            print(f"round {r}  {b}: alone p50 {p50a:.2f} ms p99 {p99a:.2f} ms {rpsa:,.0f} req/s | "
                  f"beside the hog p50 {p50b:.2f} ms p99 {p99b:.2f} ms {rpsb:,.0f} req/s | host CPU {cores:.2f} cores")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
