#!/usr/bin/env bash
# bench/compare.sh: confab vs redis-server on this machine, side by side, same tools.
#
# Starts redis-server 7 (persistence off), confab with the conversation log off, and confab
# with it on, each on a free loopback port; runs ../shared/bench/resp-matrix.sh against them
# interleaved (redis, confab, confab+log, redis, ...) ROUNDS times with server CPU sampling,
# aggregates medians with ../shared/bench/aggregate.py, then measures memory per idle
# connection with ../shared/bench/idle-conns.py on a fresh redis and a fresh confab.
# Everything it starts is stopped on exit.
#
# Knobs: ROUNDS [3], IDLE_N [10000], plus resp-matrix.sh's own (TESTS, PIPELINES, SECTIONS,
# DURATION, QUIET_BUSY_PCT, ...). Output: a results directory (printed at the end) with the
# raw CSV, the aggregate table and the idle-connection report.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
ROUNDS=${ROUNDS:-3}
IDLE_N=${IDLE_N:-10000}
OUT=${OUT:-$(mktemp -d /tmp/confab-bench.XXXXXX)}
mkdir -p "$OUT"
CSV=$OUT/results.csv

command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server redis-tools)"; exit 2; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark is required (redis-tools)"; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)
BIN=$ROOT/target/release/confab

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port); CPORT=$(free_port); LPORT=$(free_port)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --maxclients 20000 >"$OUT/redis.log" 2>&1 &
RPID=$!; pids+=("$RPID")
"$BIN" server --port "$CPORT" --conversation-log off --log-level warn >"$OUT/confab.log" 2>&1 &
CPID=$!; pids+=("$CPID")
"$BIN" server --port "$LPORT" --conversation-log "$OUT/conversation_log.txt" --conversation-log-max-size 200mb --log-level warn >"$OUT/confab-log.log" 2>&1 &
LPID=$!; pids+=("$LPID")

for p in "$RPORT" "$CPORT" "$LPORT"; do
  for _ in $(seq 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
done

for r in $(seq "$ROUNDS"); do
  SERVER_PID=$RPID RESULTS_CSV=$CSV bash "$SHARED/resp-matrix.sh" 127.0.0.1 "$RPORT" "redis-r$r" | tee -a "$OUT/matrix.md"
  SERVER_PID=$CPID RESULTS_CSV=$CSV bash "$SHARED/resp-matrix.sh" 127.0.0.1 "$CPORT" "confab-r$r" | tee -a "$OUT/matrix.md"
  SERVER_PID=$LPID RESULTS_CSV=$CSV SECTIONS=matrix bash "$SHARED/resp-matrix.sh" 127.0.0.1 "$LPORT" "confab+log-r$r" | tee -a "$OUT/matrix.md"
done
python3 "$SHARED/aggregate.py" "$CSV" | tee "$OUT/aggregate.md"

# Memory per idle connection on fresh servers: after the matrix both heaps hold memory freed
# by the benchmark (confab's lists alone reach hundreds of MB), which new connections reuse
# without growing the RSS the script measures.
cleanup; pids=()
IRPORT=$(free_port); ICPORT=$(free_port)
redis-server --port "$IRPORT" --bind 127.0.0.1 --save '' --appendonly no --maxclients 20000 >"$OUT/redis-idle.log" 2>&1 &
IRPID=$!; pids+=("$IRPID")
"$BIN" server --port "$ICPORT" --conversation-log off --log-level warn >"$OUT/confab-idle.log" 2>&1 &
ICPID=$!; pids+=("$ICPID")
for p in "$IRPORT" "$ICPORT"; do
  for _ in $(seq 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
{
  ulimit -n 65536 2>/dev/null || true
  python3 "$SHARED/idle-conns.py" 127.0.0.1 "$IRPORT" "$IRPID" "$IDLE_N"
  python3 "$SHARED/idle-conns.py" 127.0.0.1 "$ICPORT" "$ICPID" "$IDLE_N"
} 2>&1 | tee "$OUT/idle.txt"

echo "results in $OUT"
