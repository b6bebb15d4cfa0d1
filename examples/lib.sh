# examples/lib.sh: shared by the walk-throughs (source it). Starts a private confab server on
# a free loopback port with its conversation log in a temp dir, and stops it on exit.
#
#   CONFAB   the confab binary (default: target/release/confab, built if missing)
#   QUIET=1  print only failures (the automated tests set it)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${CONFAB:-}" ]; then
  CONFAB=$ROOT/target/release/confab
  [ -x "$CONFAB" ] || (cd "$ROOT" && cargo build --release --quiet)
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/confab-example.XXXXXX")
LOG=$WORK/conversation_log.txt
SERVER_PID=
PORT=

say() { [ "${QUIET:-}" = 1 ] || printf '\n# %s\n' "$*"; }
# show CMD...: print the command (to stderr), run it; its output goes on (to `expect`).
show() {
  if [ "${QUIET:-}" != 1 ]; then
    local shown
    shown=$(printf '%q ' "$@")
    printf '$ %s\n' "${shown/#cli /confab cli -p \$PORT }" >&2
  fi
  "$@" 2>&1
}
# expect TEXT [FILE]: fail the walk-through unless the output (stdin, or FILE) contains
# TEXT; stdin is echoed so the reader sees it.
expect() {
  local want=$1 src=${2:--} got
  if [ "$src" = - ]; then
    got=$(cat)
    [ "${QUIET:-}" = 1 ] || printf '%s\n' "$got"
  else
    got=$(cat "$src")
  fi
  if ! grep -qF -- "$want" <<<"$got"; then
    printf 'FAILED: expected %q in:\n%s\n' "$want" "$got" >&2
    exit 1
  fi
}
# wait_for CMD...: retry CMD for up to 10 s (no bare sleeps).
wait_for() {
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "FAILED: timed out waiting for: $*" >&2
  exit 1
}
cli() { "$CONFAB" cli -p "$PORT" "$@"; }
# bg_cli OUT ARGS...: a cli in the background writing to OUT; $! is the cli itself (so a
# signal reaches it, not a subshell).
bg_cli() {
  local out=$1
  shift
  exec_cli() { exec "$CONFAB" cli -p "$PORT" "$@"; }
  exec_cli "$@" >"$out" 2>&1 &
}

start_server() {
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$CONFAB" server --port "$PORT" --conversation-log "$LOG" "$@" >"$WORK/server.out" 2>&1 &
  SERVER_PID=$!
  wait_for cli PING
}
# stop_server: Ctrl+C (SIGINT), as a person at the server's terminal would; returns its exit code.
stop_server() {
  kill -INT "$SERVER_PID"
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=
  return "$rc"
}
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -z "${KEEP_LOG:-}" ] || trap 'cp "$LOG" "$KEEP_LOG"; cleanup' EXIT
