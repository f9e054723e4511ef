#!/usr/bin/env bash
# Before-and-after CPU per `GET /me` (or AB_PATH) under wrk load: each binary given serves the
# seed program (`fitz run examples/seed/auth.fitz`) on a fresh PostgreSQL database, in
# alternating rounds (the machine is shared and noisy), with `plain-auth-lean` measured in every
# round as the reference. Prints tests/bench/cpu_per_request.sh's line per server and round.
#
#   [AB_PATH=/admin/users] tests/bench/ab_me.sh ROUNDS FITZ_BINARY...
#   e.g. git stash; cargo build --release -p fitz-host; cp target/release/fitz /tmp/fitz-before
#        git stash pop; cargo build --release -p fitz-host -p fitz-bench-plain
#        tests/bench/ab_me.sh 3 /tmp/fitz-before target/release/fitz
#
# Needs what compare.py needs (wrk, psql, PostgreSQL on 127.0.0.1:5432, argon2-cffi).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=$1
shift
port=3911 db=fitz_ab
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" JWT_SECRET=ab-secret-0123456789abcdef0123456789abcdef FITZ_LOG=warn
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT
psql_() { psql -q -h 127.0.0.1 -U postgres "$@"; }

# start KIND BINARY: a fresh database, the server, one user; sets $pid and $token.
start() {
    psql_ postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
    if [ "$1" = lean ]; then
        psql_ "$db" -c "$(python3 -c 'import sys; sys.path.insert(0, "tests/bench"); import compare; print(compare.SCHEMA)')"
        "$2" "$port" >/dev/null 2>&1 &
    else
        "$2" run examples/seed/auth.fitz --port "$port" >/dev/null 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/me" && break; sleep 0.1; done
    local hash
    hash=$(python3 -c "from argon2 import PasswordHasher; print(PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash('pw'))")
    psql_ "$db" -c "INSERT INTO users (email, name, role, password_hash) VALUES ('ada@x.io', 'Ada', 'admin', '$hash')"
    token=$(curl -s -X POST -H 'content-type: application/json' -d '{"email":"ada@x.io","password":"pw"}' "http://127.0.0.1:$port/login" |
        python3 -c "import sys, json; print(json.load(sys.stdin)['token'])")
    # Warm up: connections opened, code paged in.
    wrk -t1 -c32 -d1s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/me" >/dev/null
}

for round in $(seq "$rounds"); do
    for bin in "$@" target/release/plain-auth-lean; do
        kind=fitz
        [ "$(basename "$bin")" = plain-auth-lean ] && kind=lean
        start "$kind" "$bin"
        line=$(PGSTAT_DB=$db tests/bench/cpu_per_request.sh "$pid" "http://127.0.0.1:$port${AB_PATH:-/me}" "$token" 6 | tr '\n' ' ')
        echo "round $round  $bin: $line"
        stop
    done
done
psql_ postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null
