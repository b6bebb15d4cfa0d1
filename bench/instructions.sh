#!/usr/bin/env bash
# bench/instructions.sh: user-space instructions per request, confab vs redis-server, counted
# by valgrind's callgrind (repeatable on a noisy shared machine, unlike wall-clock figures).
#
# For each server: start it under callgrind, run one redis-benchmark workload, shut it down,
# and read the total instruction count; a second run with no workload gives the start-up and
# shut-down cost, which is subtracted. Kernel time (syscalls) is not counted: this measures
# the servers' own code. Knobs: TESTS [set get incr], N [200000], P [16], C [50],
# SERVERS [redis confab], BIN [target/release/confab, built first] (an older build to compare).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TESTS=${TESTS:-"set get incr"}
N=${N:-200000}
P=${P:-16}
C=${C:-50}
OUT=${OUT:-$(mktemp -d /tmp/confab-instr.XXXXXX)}
mkdir -p "$OUT"
SERVERS=${SERVERS:-"redis confab"}
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  BIN=$ROOT/target/release/confab
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_one NAME TEST -> prints total Ir
run_one() {
  local name=$1 test=$2 port out
  port=$(free_port)
  out=$OUT/$name-$test.cg
  if [ "$name" = redis ]; then
    valgrind --tool=callgrind --callgrind-out-file="$out" redis-server --port "$port" --save '' --appendonly no >/dev/null 2>&1 &
  else
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" server --port "$port" --conversation-log off --log-level error >/dev/null 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 300); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
  if [ "$test" != none ]; then
    redis-benchmark -p "$port" -c "$C" -n "$N" -P "$P" -r 100000 -t "$test" -q >"$OUT/$name-$test.bench" 2>&1 || echo "benchmark failed: $name $test" >&2
  fi
  redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
  # (awk reads to the end: exiting early would SIGPIPE callgrind_annotate under pipefail)
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !t {gsub(",","",$1); t=$1} END {print t}'
}

echo "| server | test | P | requests | instructions/request |"
echo "|---|---|---:|---:|---:|"
for name in $SERVERS; do
  base=$(run_one "$name" none)
  for t in $TESTS; do
    total=$(run_one "$name" "$t")
    echo "| $name | $t | $P | $N | $(( (total - base) / N )) |"
  done
done
