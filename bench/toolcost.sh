#!/bin/bash
# bench/toolcost.sh N ROUNDS name:port ... -- ARGS... : what the load generator pays per request
#
# At pipeline 1 redis-benchmark saturates its core before either server does, so the
# requests/sec a server gets is set by how much CPU the *tool* spends per request against
# it. This runs `redis-benchmark -c 50 -n N ARGS` under `perf stat` against each server in
# turn, ROUNDS times, and prints the rate with the tool's own task-clock, syscalls and
# context switches per request.
#   bash bench/toolcost.sh 200000 2 redis:6391 confab:6392 -- -t get -r 100000 -d 3
#   bash bench/toolcost.sh 200000 2 redis:6391 confab:6392 -- XREVRANGE log + - COUNT 10
N=$1; R=$2; shift 2
servers=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do servers+=("$1"); shift; done
shift
EVENTS=task-clock,context-switches,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl
for r in $(seq "$R"); do
  for spec in "${servers[@]}"; do
    IFS=: read -r name port <<<"$spec"
    rps=$(perf stat -x, -e "$EVENTS" -o /tmp/toolcost.$$ -- \
      redis-benchmark -p "$port" -c 50 -n "$N" --csv "$@" 2>/dev/null | tail -1 | awk -F'","' '{print $2}')
    per=$(awk -F, -v n="$N" '$1 ~ /^[0-9.]+$/ {
        e=$3; sub("syscalls:sys_enter_", "", e)
        if (e == "task-clock") printf " tool_us/req=%.2f", $1*1000/n; else printf " %s=%.3f", e, $1/n }' /tmp/toolcost.$$)
    echo "$r $name rps=$rps$per"
  done
done
rm -f /tmp/toolcost.$$
