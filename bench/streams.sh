#!/bin/bash
# bench/streams.sh P N ROUNDS name:pid:port ... : XADD MAXLEN ~ 1000 and XREVRANGE COUNT 10
# Side by side on servers you started yourself (e.g. redis-server --port 6391 --save ''
# --appendonly no; target/release/confab server --port 6392 --conversation-log off):
#   bash bench/streams.sh 1 100000 3 redis:$(pgrep -f 'redis-server.*6391'):6391 confab:$(pgrep -f 'confab server --port 6392'):6392
# Prints requests/sec, p99 and server CPU microseconds per request (utime+stime from /proc).
PP=$1; N=$2; R=$3; shift 3
ticks() { sed 's/.*) //' /proc/$1/stat | awk '{print $12+$13}'; }
for r in $(seq $R); do
 for what in xadd xrev; do
  for spec in "$@"; do
    IFS=: read name pid port <<<"$spec"
    if [ $what = xadd ]; then args=(XADD log MAXLEN '~' 1000 '*' field value); else args=(XREVRANGE log + - COUNT 10); fi
    a=$(ticks $pid)
    out=$(redis-benchmark -p $port -c 50 -n $N -P $PP --csv "${args[@]}" 2>/dev/null | grep -v '^"test"' | tail -1)
    b=$(ticks $pid)
    rps=$(echo "$out" | awk -F'","' '{print $2}')
    p99=$(echo "$out" | awk -F'","' '{print $7}'|tr -d '"')
    us=$(awk -v a=$a -v b=$b -v n=$N 'BEGIN{printf "%.2f", (b-a)*10000/n}')
    printf "%-3s %-6s P%-3s %-8s rps=%-10s p99=%-6s cpu_us/req=%s\n" $r $what $PP $name $rps $p99 $us
  done
 done
done
