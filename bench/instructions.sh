#!/usr/bin/env bash
# bench/instructions.sh: user-space instructions per request, confab vs redis-server, counted
# by valgrind's callgrind (repeatable on a noisy shared machine, unlike wall-clock figures).
#
# For each server: start it under callgrind, run one redis-benchmark workload, shut it down,
# and read the total instruction count; a second run with no workload gives the start-up and
# shut-down cost, which is subtracted. Kernel time (syscalls) is not counted: this measures
# the servers' own code. Knobs: TESTS [set get incr], N [200000], P [16], C [50],
# SERVERS [redis confab], BIN [target/release/confab, built first] (an older build to compare),
# CONFAB_ARGS [--conversation-log off] (e.g. "--conversation-log /tmp/x.log" for the log's cost).
# KEEPALIVE [unset] (0: a new connection per request, the churn cells; use TESTS=ping_mbulk P=1).
# GET reads a keyspace filled first by SET over the same -r 100000 keys (as in the matrix,
# where SET runs before GET), so it measures hits, not misses; the fill is counted in its own
# baseline run and subtracted.
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

# run_one NAME TEST [fill] -> prints total Ir; "fill" first SETs the keys GET will read
run_one() {
  local name=$1 test=$2 fill=${3:-} port out
  port=$(free_port)
  out=$OUT/$name-$test${fill:+-filled}.cg
  if [ "$name" = redis ]; then
    valgrind --tool=callgrind --callgrind-out-file="$out" redis-server --port "$port" --save '' --appendonly no >/dev/null 2>&1 &
  else
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" server --port "$port" ${CONFAB_ARGS:---conversation-log off} --log-level error >/dev/null 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 300); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
  if [ -n "$fill" ]; then
    redis-benchmark -p "$port" -c "$C" -n "$N" -P 16 -r 100000 -t set -q >/dev/null 2>&1 || echo "fill failed: $name" >&2
  fi
  if [ "$test" != none ]; then
    redis-benchmark -p "$port" -c "$C" -n "$N" -P "$P" -r 100000 -t "$test" ${KEEPALIVE:+-k "$KEEPALIVE"} -q >"$OUT/$name-$test.bench" 2>&1 || echo "benchmark failed: $name $test" >&2
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
  filled_base=
  for t in $TESTS; do
    if [ "$t" = get ]; then
      [ -n "$filled_base" ] || filled_base=$(run_one "$name" none fill)
      total=$(run_one "$name" "$t" fill)
      echo "| $name | $t (hits) | $P | $N | $(( (total - filled_base) / N )) |"
      continue
    fi
    total=$(run_one "$name" "$t")
    echo "| $name | $t | $P | $N | $(( (total - base) / N )) |"
  done
done
