#!/usr/bin/env bash
# A work queue: producers RPUSH jobs, consumers BLPOP them. Each job goes to exactly one
# consumer; blocked consumers are served in arrival order, and BLPOP waits (0 = forever).
source "$(dirname "$0")/lib.sh"
start_server

say "Two consumers block on the empty queue"
bg_cli "$WORK/c1" BLPOP jobs 0
c1=$!
wait_for sh -c "'$CONFAB' cli -p $PORT CLIENT LIST | grep -q 'cmd=blpop'"
bg_cli "$WORK/c2" BLPOP jobs 0
c2=$!
wait_for sh -c "[ \$('$CONFAB' cli -p $PORT --raw CLIENT LIST | grep -c 'cmd=blpop') = 2 ]"
show cli INFO clients | expect 'blocked_clients:2'

say "A producer pushes two jobs: the first consumer to block gets the first job"
show cli RPUSH jobs resize-image-1 resize-image-2 | expect '(integer) 2'
wait "$c1" "$c2"
[ "${QUIET:-}" = 1 ] || { echo "consumer 1:"; cat "$WORK/c1"; echo "consumer 2:"; cat "$WORK/c2"; }
expect '2) "resize-image-1"' "$WORK/c1"
expect '2) "resize-image-2"' "$WORK/c2"

say "With jobs waiting, BLPOP returns at once; on an empty queue it times out with (nil)"
show cli RPUSH jobs send-mail | expect '(integer) 1'
show cli BLPOP jobs 1 | expect '"send-mail"'
show cli BLPOP jobs 0.1 | expect '(nil)'

say "The conversation log shows the blocking and the unblocking"
stop_server
expect 'blocked on jobs' "$LOG"
expect 'unblocked (served)' "$LOG"
[ "${QUIET:-}" = 1 ] || grep -E 'blocked|BLPOP|RPUSH' "$LOG" | head -8
say "ok"
