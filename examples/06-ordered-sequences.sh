#!/usr/bin/env bash
# Parallel ordered sequences: 8 senders each RPUSH 2,000 numbered messages over their own
# connection (then again with a new connection per message); confab bench reads every list
# back and verifies it is complete and in order (FIFO per sender). Any gap, duplicate or
# reordering makes it exit 4 and say where.
source "$(dirname "$0")/lib.sh"
start_server

say "8 sequences x 2,000 messages, pipelined 16 at a time"
show "$CONFAB" bench sequences -p "$PORT" --sequences 8 --messages 2000 -P 16 >"$WORK/seq"
[ "${QUIET:-}" = 1 ] || cat "$WORK/seq"

say "8 sequences x 200 messages, a new TCP connection per message"
show "$CONFAB" bench sequences -p "$PORT" --sequences 8 --messages 200 --churn >"$WORK/churn"
[ "${QUIET:-}" = 1 ] || cat "$WORK/churn"
stop_server
say "ok"
