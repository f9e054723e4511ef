#!/usr/bin/env bash
# CPU per request of one running server under wrk load: the whole machine's busy time, the
# server process's own (user + system, all threads) and its context switches, each divided by
# the requests wrk completed. Used for the single-server figures in BENCHMARKS.md.
#
#   tests/bench/cpu_per_request.sh PID URL TOKEN [SECONDS]
#   e.g. tests/bench/cpu_per_request.sh "$(pgrep -f 'fitz run')" http://127.0.0.1:3000/me "$TOKEN"
set -euo pipefail
pid=$1 url=$2 token=$3 seconds=${4:-8}
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
own() { awk '{print $14+$15}' "/proc/$pid/stat"; }
switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/{s+=$2} END {print s}'; }
b0=$(busy) p0=$(own) c0=$(switches)
out=$(wrk -t1 -c32 -d"${seconds}s" -H "Authorization: Bearer $token" "$url")
b1=$(busy) p1=$(own) c1=$(switches)
n=$(awk '/requests in/{print $1}' <<<"$out")
ticks=$(getconf CLK_TCK)
grep Requests/sec <<<"$out"
python3 -c "
n, t = $n, $ticks
print(f'machine {($b1-$b0)/t*1e6/n:.0f} us/request, server {($p1-$p0)/t*1e6/n:.0f} us/request, '
      f'server context switches {($c1-$c0)/n:.2f}/request')"
