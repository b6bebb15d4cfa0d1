#!/usr/bin/env bash
# Three clients stream messages to the server while it logs every exchange; one Ctrl+C at the
# server tells them all to stop: it finishes what is in flight, announces the shutdown to
# every client (a RESP3 push), flushes the conversation log and exits 0. Each client prints
# "server at ... is shutting down" and exits 3, without waiting for its next message.
source "$(dirname "$0")/lib.sh"
start_server

say "Three clients each append a message every 50 ms (confab cli -r -1 -i 0.05: forever)"
bg_cli "$WORK/c1" --name sensor-1 -r -1 -i 0.05 RPUSH readings:1 "temp=21.5"
c1=$!
bg_cli "$WORK/c2" --name sensor-2 -r -1 -i 0.05 RPUSH readings:2 "temp=19.0"
c2=$!
bg_cli "$WORK/c3" --name sensor-3 SUBSCRIBE alerts
c3=$!
wait_for sh -c "[ \$('$CONFAB' cli -p $PORT LLEN readings:1 | tr -dc 0-9) -ge 5 ]"
wait_for sh -c "[ \$('$CONFAB' cli -p $PORT LLEN readings:2 | tr -dc 0-9) -ge 5 ]"
show cli PUBLISH alerts "door open" | expect '(integer) 1'
wait_for grep -qF '"door open"' "$WORK/c3"
show cli CLIENT LIST | expect 'name=sensor-2'

say "Ctrl+C at the server"
rc=0
stop_server || rc=$?
[ "$rc" = 0 ] || { echo "FAILED: the server exited $rc, want 0" >&2; exit 1; }
for c in "$c1" "$c2" "$c3"; do
  rc=0
  wait "$c" || rc=$?
  [ "$rc" = 3 ] || { echo "FAILED: a client exited $rc, want 3" >&2; exit 1; }
done
for f in c1 c2 c3; do
  [ "${QUIET:-}" = 1 ] || { echo "$f: $(tail -1 "$WORK/$f")"; }
  expect "server at 127.0.0.1:$PORT is shutting down" "$WORK/$f"
done

say "The conversation log has every exchange and ends with the shutdown"
[ "${QUIET:-}" = 1 ] || { grep -F 'sensor-1' "$LOG" | head -3; tail -3 "$LOG"; }
expect 'RPUSH readings:1 temp=21.5' "$LOG"
expect 'disconnected: shutdown' "$LOG"
expect 'no longer accepting, closing 3 clients' "$LOG"
# The server announces the shutdown before the clients' own disconnect lines.
awk '/Shutdown requested/ {s=NR} /disconnected: shutdown/ && !d {d=NR} END {exit !(s && d && s < d)}' "$LOG" \
  || { echo "FAILED: a client's shutdown line came before the server's" >&2; exit 1; }
tail -1 "$LOG" | expect 'SYSTEM: Server stopped'
say "ok"
