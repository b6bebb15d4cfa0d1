#!/usr/bin/env bash
# The latest-N message log: a stream capped with MAXLEN keeps exactly the newest N entries (a
# ring buffer per key), XREVRANGE reads the latest ones, XREAD BLOCK waits for new ones.
source "$(dirname "$0")/lib.sh"
start_server

say "Append 20 messages to a log capped at 5 entries"
for i in $(seq 1 20); do
  cli XADD log MAXLEN 5 "$i-0" text "message $i" >/dev/null
done
show cli XLEN log | expect '(integer) 5'

say "The latest 3, newest first"
show cli XREVRANGE log + - COUNT 3 >"$WORK/latest"
expect '"message 20"' "$WORK/latest"
expect '"message 18"' "$WORK/latest"
[ "${QUIET:-}" = 1 ] || cat "$WORK/latest"
grep -qF '"message 15"' "$WORK/latest" && { echo "FAILED: message 15 is not among the latest 3" >&2; exit 1; }
show cli XRANGE log - + COUNT 1 | expect '"message 16"'

say "A reader blocks for the next message; a writer appends it"
bg_cli "$WORK/reader" XREAD BLOCK 5000 STREAMS log '$'
reader=$!
wait_for sh -c "'$CONFAB' cli -p $PORT CLIENT LIST | grep -q 'cmd=xread'"
show cli XADD log MAXLEN 5 '*' text "fresh news" >/dev/null
wait "$reader"
[ "${QUIET:-}" = 1 ] || cat "$WORK/reader"
expect '"fresh news"' "$WORK/reader"
stop_server
say "ok"
