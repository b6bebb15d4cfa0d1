#!/bin/bash
# bench/wakeups.sh N "COMMAND ARGS" name=PID:PORT ...
#
# How often each server goes to sleep per request, and what that costs the load generator.
# Runs `redis-benchmark -c 50 -n N -P 1 -r 100000 COMMAND ARGS` against each server in turn
# and prints requests/sec, the server's sleeps per request (voluntary context switches of all
# its threads, /proc/PID/task/*/status), its CPU per request (/proc/PID/stat) and the load
# generator's own CPU per request (user + system, /usr/bin/time). At pipeline 1 the load
# generator is the bottleneck and pays for every wake-up of a sleeping server inside its
# `sendto` (an IPI on a VM whose idle vCPUs halt): docs/PERFORMANCE.md, session 12.
# Example: bash bench/wakeups.sh 200000 "lrange mylist 0 99" redis=$(pgrep redis-server):7001 confab=PID:7006
set -u
n=${1:?usage: wakeups.sh N "COMMAND ARGS" name=PID:PORT ...}
c=${2:?usage: wakeups.sh N "COMMAND ARGS" name=PID:PORT ...}
shift 2
sleeps() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/{s+=$2} END{print s}'; }
ticks() { cat /proc/"$1"/task/*/stat | awk '{sub(/.*\) /,""); split($0,f," "); s+=f[12]+f[13]} END{print s}'; }
hz=$(getconf CLK_TCK)
tf=$(mktemp)
trap 'rm -f "$tf"' EXIT
for spec in "$@"; do
  name=${spec%%=*}; rest=${spec#*=}; pid=${rest%%:*}; port=${rest#*:}
  c0=$(sleeps "$pid"); k0=$(ticks "$pid")
  # shellcheck disable=SC2086
  rps=$(/usr/bin/time -f "%U %S" -o "$tf" timeout 300 redis-benchmark -p "$port" -c 50 -n "$n" -P 1 -r 100000 --csv $c 2>/dev/null \
    | tail -1 | cut -d, -f2 | tr -d '"')
  c1=$(sleeps "$pid"); k1=$(ticks "$pid")
  awk -v nm="$name" -v r="$rps" -v c0="$c0" -v c1="$c1" -v k0="$k0" -v k1="$k1" -v hz="$hz" -v n="$n" -v tool="$(tail -1 "$tf")" \
    'BEGIN{split(tool,u," "); printf "%-10s rps=%-10s sleeps/req=%.3f server us/req=%.2f tool us/req=%.2f\n",
      nm, r, (c1-c0)/n, (k1-k0)*1e6/hz/n, (u[1]+u[2])*1e6/n}'
done
