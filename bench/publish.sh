#!/bin/bash
# bench/publish.sh S N ROUNDS name:pid:port ... : PUBLISH to S redis-cli subscribers, alternating
#
# The matrix's pub/sub cell, side by side on servers you started yourself: S `redis-cli
# SUBSCRIBE ch` processes per server, then per round and server `redis-benchmark -c C -P P
# -n N PUBLISH ch <64 B>` (C=10, P=1 unless set), printing publishes/sec and the server's
# CPU microseconds per publish (utime+stime from /proc). With SYSCALLS=1 each run is also
# traced with `perf stat` and prints the server's syscalls per publish (reads, writes,
# epoll_wait, futex) and context switches: Redis writes a subscriber once per event-loop
# turn, so writes per publish tell how well a server batches subscriber writes.
#   bash bench/publish.sh 1 200000 3 redis:$(pgrep -f 'redis-server.*6391'):6391 confab:$(pgrep -f 'confab server --port 6392'):6392
S=$1; N=$2; R=$3; shift 3
ticks() { sed 's/.*) //' /proc/$1/stat | awk '{print $12+$13}'; }
PAY=$(head -c 64 /dev/zero | tr '\0' x)
subs=()
for spec in "$@"; do
  IFS=: read -r name pid port <<<"$spec"
  for _ in $(seq "$S"); do redis-cli -p "$port" subscribe ch >/dev/null & subs+=($!); done
done
trap 'kill "${subs[@]}" 2>/dev/null' EXIT
# Wait until every subscriber is subscribed (PUBSUB NUMSUB), at most 10 s.
for spec in "$@"; do
  IFS=: read -r name pid port <<<"$spec"
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$port" pubsub numsub ch | tail -1)" -ge "$S" ] && break
    sleep 0.1
  done
done
EVENTS=syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,context-switches
for r in $(seq "$R"); do
  for spec in "$@"; do
    IFS=: read -r name pid port <<<"$spec"
    if [ -n "${SYSCALLS:-}" ]; then
      perf stat -x, -e "$EVENTS" -p "$pid" -o /tmp/publish-stat.$$ -- sleep 1000 2>/dev/null & sp=$!
      sleep 0.3
    fi
    a=$(ticks "$pid")
    out=$(redis-benchmark -p "$port" -c "${C:-10}" -P "${P:-1}" -n "$N" --csv PUBLISH ch "$PAY" 2>/dev/null | tail -1)
    b=$(ticks "$pid")
    extra=""
    if [ -n "${SYSCALLS:-}" ]; then
      pkill -P $sp sleep; wait $sp 2>/dev/null
      extra=$(awk -F, -v n="$N" '$1 ~ /^[0-9]+$/ && $1 > 0 {sub("syscalls:sys_enter_", "", $3); printf " %s=%.2f", $3, $1/n}' /tmp/publish-stat.$$)
    fi
    rps=$(echo "$out" | awk -F'","' '{print $2}')
    us=$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN{printf "%.2f", (b-a)*10000/n}')
    echo "$r $name subs=$S rps=$rps cpu_us/pub=$us$extra"
  done
done
rm -f /tmp/publish-stat.$$
