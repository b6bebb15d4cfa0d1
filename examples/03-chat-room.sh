#!/usr/bin/env bash
# A chat room over pub/sub: every subscriber of a channel gets every message, in the order
# each sender sent them; pattern subscribers (PSUBSCRIBE room:*) see every room.
source "$(dirname "$0")/lib.sh"
start_server

say "Alice and Bob join room:lobby; a moderator watches every room with a pattern"
bg_cli "$WORK/alice" --name alice SUBSCRIBE room:lobby
alice=$!
bg_cli "$WORK/bob" --name bob SUBSCRIBE room:lobby
bob=$!
bg_cli "$WORK/moderator" --name moderator PSUBSCRIBE 'room:*'
moderator=$!
wait_for sh -c "'$CONFAB' cli -p $PORT PUBSUB NUMSUB room:lobby | grep -q '(integer) 2'"
wait_for sh -c "'$CONFAB' cli -p $PORT PUBSUB NUMPAT | grep -q '(integer) 1'"

say "Messages are published; PUBLISH answers how many clients received each one"
show cli PUBLISH room:lobby "hi all" | expect '(integer) 3'
show cli PUBLISH room:lobby "how is everyone?" | expect '(integer) 3'
show cli PUBLISH room:dev "deploy at 5" | expect '(integer) 1'

wait_for grep -qF '"deploy at 5"' "$WORK/moderator"
wait_for grep -qF '"how is everyone?"' "$WORK/bob"
wait_for grep -qF '"how is everyone?"' "$WORK/alice"
say "Ctrl+C leaves subscribe mode (exit 0)"
kill -INT "$alice" "$bob" "$moderator"
wait "$alice" "$bob" "$moderator"
[ "${QUIET:-}" = 1 ] || { echo "alice saw:"; cat "$WORK/alice"; echo "moderator saw:"; cat "$WORK/moderator"; }
# Order per sender: "hi all" arrives before "how is everyone?".
awk '/"hi all"/ {a=NR} /"how is everyone\?"/ {b=NR} END {exit !(a && b && a < b)}' "$WORK/bob" \
  || { echo "FAILED: bob saw the messages out of order" >&2; exit 1; }
expect '"pmessage"' "$WORK/moderator"

say "The conversation log summarizes each delivery"
stop_server
expect 'Delivered message on room:lobby to 3 subscriber(s)' "$LOG"
[ "${QUIET:-}" = 1 ] || grep -F 'Delivered' "$LOG"
say "ok"
