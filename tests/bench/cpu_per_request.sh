#!/usr/bin/env bash
# CPU per request of one running server under wrk load: the whole machine's busy time, the
# server process's own (user + system, all threads), PostgreSQL's (every `postgres` process:
# the backends serving the server's connections, opened before the load by a warm-up) and the
# server's context switches, each divided by the requests wrk completed, the server's split
# into user and system time; wrk's p50 and p99; and, with PGSTAT_DB set to the server's
# database, what PostgreSQL did per request in the same window as its CPU (transactions, index
# and sequential scans, buffer hits, from pg_stat_database and pg_stat_user_tables, which
# backends flush about once a second: a few per cent of slack). Used for the single-server
# figures in BENCHMARKS.md.
#
#   tests/bench/cpu_per_request.sh PID URL TOKEN [SECONDS]
#   e.g. tests/bench/cpu_per_request.sh "$(pgrep -f 'fitz run')" http://127.0.0.1:3000/me "$TOKEN"
set -euo pipefail
pid=$1 url=$2 token=$3 seconds=${4:-8}
[ "$seconds" -ge 4 ] || { echo 'SECONDS must be at least 4' >&2; exit 2; }
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
own() { awk '{print $14, $15}' "/proc/$pid/stat"; }
switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/{s+=$2} END {print s}'; }
# Ticks of every postgres process, by pid. PostgreSQL is sampled inside the run, from its
# second second to its second-to-last, and charged to the requests of that window at wrk's
# rate: when wrk stops, requests cut off mid-query close their connections, and the backends
# that exit take their counters with them.
pg() { for p in $(pgrep -x postgres); do awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" 2>/dev/null; done; }
# PostgreSQL's counters for PGSTAT_DB: transactions, index scans, sequential scans, buffer hits.
work() {
    [ -n "${PGSTAT_DB:-}" ] || { echo 0 0 0 0; return; }
    psql -At -F' ' -h 127.0.0.1 -U postgres -d "$PGSTAT_DB" -c "SELECT d.xact_commit + d.xact_rollback, t.idx, t.seq, d.blks_hit
        FROM pg_stat_database d, (SELECT coalesce(sum(idx_scan), 0) idx, coalesce(sum(seq_scan), 0) seq FROM pg_stat_user_tables) t
        WHERE d.datname = current_database()"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
b0=$(busy) c0=$(switches); read -r u0 s0 < <(own)
wrk -t1 -c32 -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url" >"$tmp/wrk" &
wrk_pid=$!
sleep 1; pg >"$tmp/pg0"; read -r x0 i0 q0 h0 < <(work); w0=$(date +%s.%N)
sleep $((seconds - 2)); pg >"$tmp/pg1"; read -r x1 i1 q1 h1 < <(work); w1=$(date +%s.%N)
wait "$wrk_pid"
out=$(cat "$tmp/wrk")
b1=$(busy) c1=$(switches); read -r u1 s1 < <(own)
pg_ticks=$(awk 'NR == FNR {before[$1] = $2; next} {t += $2 - ($1 in before ? before[$1] : 0)} END {print t + 0}' "$tmp/pg0" "$tmp/pg1")
n=$(awk '/requests in/{print $1}' <<<"$out")
ticks=$(getconf CLK_TCK)
grep Requests/sec <<<"$out"
rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
p50=$(awk '$1 == "50%" {print $2}' <<<"$out") p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
python3 -c "
n, t = $n, $ticks
us = lambda ticks: ticks / t * 1e6 / n
pg = $pg_ticks / t * 1e6 / ($rps * ($w1 - $w0))
print(f'machine {us($b1-$b0):.0f} us/request, server {us($u1-$u0+$s1-$s0):.0f} us/request '
      f'(user {us($u1-$u0):.1f}, system {us($s1-$s0):.1f}), postgres {pg:.0f} us/request, '
      f'server context switches {($c1-$c0)/n:.2f}/request, p50 $p50, p99 $p99')
if '${PGSTAT_DB:-}':
    per = lambda a, b: (b - a) / ($rps * ($w1 - $w0))
    print(f'postgres per request: {per($x0, $x1):.2f} transactions, {per($i0, $i1):.2f} index scans, '
          f'{per($q0, $q1):.2f} sequential scans, {per($h0, $h1):.2f} buffer hits')"
