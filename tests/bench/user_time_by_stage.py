#!/usr/bin/env python3
"""User-space CPU time per request of one server, by stage of the request, from a `perf record`
with DWARF call graphs.

`user_time_by_crate.py` says which crate's code ran; this says on whose behalf: each sample is
charged to the first stage below that appears anywhere on its stack (so the allocations, copies
and hashing done for the JWT check count as "jwt decode", whichever crate they are in). Used for
the "where the time goes" table in BENCHMARKS.md.

    wrk -t1 -c32 -d10s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:PORT/me > wrk.txt &
    sleep 1; perf record --all-user -e cpu-clock -F 1500 --call-graph dwarf,32768 -p PID \\
        -o /tmp/server.data -- sleep 6; wait
    python3 tests/bench/user_time_by_stage.py /tmp/server.data USER_MICROSECONDS_PER_REQUEST

The samples give the shares; USER_MICROSECONDS_PER_REQUEST (the server's user CPU time over a
run without perf, divided by the requests served, e.g. from /proc/PID/stat) turns them into
microseconds, since DWARF unwinding slows the sampled process down.
"""

import collections
import re
import subprocess
import sys

# First match wins, in this order.
STAGES = [
    ("JWT verification", r"host_fns::jwt::decode|jsonwebtoken::decoding"),
    ("JWT, other", r"jsonwebtoken"),
    ("database: leasing a connection", r"PgLeases::|db::lease::"),
    ("database: blacklist check", r"is_blacklisted"),
    ("database: the app's queries", r"db::exec|run_query|plain_auth|fitz_bench_plain.*(user|admin)"),
    ("database: sqlx, other", r"sqlx"),
    ("sandbox: dropping the store (instance reset)", r"Store<T> as core::ops::drop::Drop|drop_in_place<wasmtime::runtime::store"),
    ("sandbox: instantiating", r"instantiate_async|pre_instantiate_raw|allocate_instance|InstancePre"),
    ("sandbox: creating the store", r"AppVersion::new_store|Store<T>::new|Store<T>::try_new"),
    ("sandbox: values into guest memory", r"runtime::guest::write|write_result|write_ptr|GuestMemory::write|Writer::"),
    ("sandbox: values out of guest memory", r"runtime::guest::read|GuestMemory::read|Reader::read|read_value|read_slot|read_fields"),
    ("sandbox: guest code, calls in and out (fibers, trampolines)",
     r"call_async|Func::call|Guest::enter|resume_fiber|Fiber|fiber::|array_call_trampoline|get_export|get_func"),
    ("sandbox: the rest of the request path", r"invoke::run|invoke::call"),
    ("answer as JSON", r"to_json_bytes|fitz_host::json::|serde_json::ser"),
    ("request deadline timer", r"tokio::time::timeout|tokio::runtime::time"),
    ("HTTP edge (routing, binding, response)", r"serve_app|app_request|fitz_host::http"),
    ("hyper, axum, tower", r"hyper|axum|tower|http::"),
    ("tokio scheduler", r"tokio"),
]


def main():
    data, per_request = sys.argv[1], float(sys.argv[2])
    stages = [(name, re.compile(p)) for name, p in STAGES]
    script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym"], capture_output=True, text=True, check=True).stdout
    counts = collections.Counter()
    total = 0
    for sample in script.split("\n\n"):
        frames = [re.sub(r"^[0-9a-f]+ ", "", line.strip()) for line in sample.strip().splitlines() if line.strip()]
        if not frames:
            continue
        total += 1
        stage = next((name for name, p in stages if any(p.search(f) for f in frames)), "other")
        counts[stage] += 1
    print(f"{total} samples; {per_request:.1f} µs of user time per request")
    for name, n in counts.most_common():
        print(f"  {per_request * n / total:6.2f} µs  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
