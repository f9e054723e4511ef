#!/usr/bin/env bash
# CPU per request of one running server under wrk load: the whole machine's busy time, the
# server process's own (user + system, all threads), PostgreSQL's (every `postgres` process:
# the backends serving the server's connections, opened before the load by a warm-up) and the
# server's context switches, each divided by the requests wrk completed, the server's split
# into user and system time. Used for the single-server figures in BENCHMARKS.md.
#
#   tests/bench/cpu_per_request.sh PID URL TOKEN [SECONDS]
#   e.g. tests/bench/cpu_per_request.sh "$(pgrep -f 'fitz run')" http://127.0.0.1:3000/me "$TOKEN"
set -euo pipefail
pid=$1 url=$2 token=$3 seconds=${4:-8}
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
own() { awk '{print $14, $15}' "/proc/$pid/stat"; }
switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/{s+=$2} END {print s}'; }
# Ticks of every postgres process, by pid, so a backend that exits in between drops out of both.
pg() { for p in $(pgrep -x postgres); do awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" 2>/dev/null; done; }
b0=$(busy) c0=$(switches); read -r u0 s0 < <(own); pg >/tmp/cpu_per_request.pg.$$
out=$(wrk -t1 -c32 -d"${seconds}s" -H "Authorization: Bearer $token" "$url")
b1=$(busy) c1=$(switches); read -r u1 s1 < <(own)
pg_ticks=$(pg | awk 'NR == FNR {before[$1] = $2; next} {t += $2 - ($1 in before ? before[$1] : 0)} END {print t + 0}' /tmp/cpu_per_request.pg.$$ -)
rm -f /tmp/cpu_per_request.pg.$$
n=$(awk '/requests in/{print $1}' <<<"$out")
ticks=$(getconf CLK_TCK)
grep Requests/sec <<<"$out"
python3 -c "
n, t = $n, $ticks
us = lambda ticks: ticks / t * 1e6 / n
print(f'machine {us($b1-$b0):.0f} us/request, server {us($u1-$u0+$s1-$s0):.0f} us/request '
      f'(user {us($u1-$u0):.1f}, system {us($s1-$s0):.1f}), postgres {us($pg_ticks):.0f} us/request, '
      f'server context switches {($c1-$c0)/n:.2f}/request')"
