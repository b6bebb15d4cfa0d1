#!/usr/bin/env bash
# A key lookup with `confab cli`: one-shot commands, then the same typed at the prompt (piped
# here; run `confab cli -p PORT` yourself for the interactive prompt with history and hints).
source "$(dirname "$0")/lib.sh"
start_server

say "Store a user and look it up (one-shot mode: one command, its reply, exit code 0)"
show cli SET user:42 "Ada Lovelace" | expect OK
show cli GET user:42 | expect '"Ada Lovelace"'
show cli HSET profile:42 name Ada born 1815 | expect '(integer) 2'
show cli HGETALL profile:42 | expect '1# "name" => "Ada"'
show cli EXISTS user:43 | expect '(integer) 0'

say "A missing key is (nil); an error reply exits 1"
show cli GET user:43 | expect '(nil)'
rc=0; cli INCR user:42 >"$WORK/err" 2>&1 || rc=$?
[ "$rc" = 1 ] || { echo "FAILED: INCR on a string exited $rc, want 1" >&2; exit 1; }
expect '(error) ERR value is not an integer or out of range' "$WORK/err"

say "Lines from a pipe run one by one, as typed at the prompt"
printf 'SET counter 10\nINCRBY counter 5\nGET counter\n' | cli >"$WORK/pipe"
[ "${QUIET:-}" = 1 ] || cat "$WORK/pipe"
expect '(integer) 15' "$WORK/pipe"
expect '"15"' "$WORK/pipe"

say "The conversation log recorded the exchanges"
stop_server
grep -F 'GET user:42' "$LOG" | expect 'GET user:42'
expect 'Server -> ' "$LOG"
[ "${QUIET:-}" = 1 ] || grep -F 'user:42' "$LOG" | head -4
say "ok"
