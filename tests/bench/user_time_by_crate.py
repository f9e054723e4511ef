#!/usr/bin/env python3
"""User-space CPU time per request of one server, by crate, from a `perf record` sample.

Used for the "where the time goes" figures in BENCHMARKS.md: sample a server for a few seconds
inside a longer wrk run, then divide each crate's sampled time by the requests served in the
sampling window (wrk's requests/s times the window).

    wrk -t1 -c32 -d8s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:PORT/me &
    sleep 1; perf record --all-user -F 2000 -p PID -o /tmp/fitz.data -- sleep 5; wait
    python3 tests/bench/user_time_by_crate.py /tmp/fitz.data REQUESTS_PER_SECOND 5

Symbols are grouped by the first matching prefix below; JIT-compiled guest code has no symbol
and counts as "guest code / unknown".
"""

import collections
import re
import subprocess
import sys

GROUPS = [
    ("wasmtime", "wasmtime"),
    ("cranelift", "wasmtime"),
    ("fitz_host::runtime", "fitz-host runtime (instances, marshalling)"),
    ("fitz_host::host_fns", "fitz-host host functions"),
    ("fitz_host::http", "fitz-host HTTP edge"),
    ("matchit", "fitz-host HTTP edge"),
    ("fitz_host::db", "fitz-host database"),
    ("fitz_host::json", "fitz-host JSON"),
    ("fitz_host", "fitz-host, other"),
    ("fitz_bench_plain", "plain server's handlers"),
    ("guest_abi", "guest-abi (value layout)"),
    ("sqlx", "sqlx"),
    ("hyper", "hyper"),
    ("axum", "axum"),
    ("tokio", "tokio"),
    ("mi_", "mimalloc"),
    ("_mi_", "mimalloc"),
    ("serde_json", "serde_json"),
    ("jsonwebtoken", "JWT (jsonwebtoken, sha2, base64)"),
    ("sha2", "JWT (jsonwebtoken, sha2, base64)"),
    ("hmac", "JWT (jsonwebtoken, sha2, base64)"),
    ("base64", "JWT (jsonwebtoken, sha2, base64)"),
    ("memmove", "memcpy / memmove"),
    ("memcpy", "memcpy / memmove"),
    ("tracing", "tracing"),
    ("futures", "futures"),
    ("bytes::", "bytes"),
    ("http::", "http"),
    ("0x0000", "guest code / unknown"),
    ("[unknown]", "guest code / unknown"),
]


def main():
    data, rps, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    requests = rps * seconds
    report = subprocess.run(
        ["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none", "-F", "period,dso,symbol"],
        capture_output=True, text=True, check=True).stdout
    by_group = collections.Counter()
    total = 0
    for line in report.splitlines():
        m = re.match(r"\s+(\d+)\s+(\S+)\s+\[\.\]\s+(.*)", line)
        if not m:
            continue
        period, dso, symbol = int(m.group(1)), m.group(2), m.group(3)
        total += period
        group = next((name for prefix, name in GROUPS if prefix in symbol), None)
        if group is None:
            group = "libc: " + symbol.split()[0] if "libc" in dso else "other (" + dso + ")"
        by_group[group] += period
    # cpu-clock periods are nanoseconds.
    print(f"user time {total / 1e3 / requests:.1f} µs per request")
    for group, ns in by_group.most_common(20):
        print(f"  {ns / 1e3 / requests:6.2f} µs  {group}")


if __name__ == "__main__":
    main()
