#!/bin/bash
# tools/redis-tcl.sh REDIS_SRC PORT UNIT... : run Redis's own TCL test units against a server
# already listening on 127.0.0.1:PORT (external mode), e.g.
#   git --git-dir=/work/.mirror/redis+redis/repo archive 7.0.15 tests runtest | tar x -C /tmp/r7full
#   target/release/confab server --port 7006 --conversation-log off &
#   bash tools/redis-tcl.sh /tmp/r7full 7006 unit/type/zset unit/type/set
#
# Skipped, as confab has none of them: tests tagged needs:debug (DEBUG RELOAD & co),
# needs:repl (replication), needs:save, needs:config-maxmemory (no memory limit yet), and
# the tests that read the replication stream (names with "propagate" or "replica"). Object
# encodings are not checked (--ignore-encoding) unless ENCODINGS= (empty) is set: confab
# reports Redis 7.0's encodings, and unit/type/{set,hash,zset,list,stream,incr,string} pass
# with them checked. The harness's `FUNCTION FLUSH` before each test file is made optional in
# a copy of the tests (confab has no scripting).
# SKIP="name-regexp ..." skips more tests (e.g. ones that need EVAL: confab has no scripting).
# Prints each unit's ok count and any [err] / [exception] line; exits non-zero on a failure.
set -u
SRC=${1:?usage: redis-tcl.sh REDIS_SRC PORT UNIT...}
PORT=${2:?usage: redis-tcl.sh REDIS_SRC PORT UNIT...}
shift 2
WORK=$(mktemp -d /tmp/redis-tcl.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$SRC/tests" "$WORK/tests"
sed -i 's/^\(\s*\)r function flush$/\1catch {r function flush}/' "$WORK/tests/support/server.tcl"
rc=0
for unit in "$@"; do
  log="$WORK/$(echo "$unit" | tr / _).log"
  (cd "$WORK" && timeout 1800 tclsh tests/test_helper.tcl --host 127.0.0.1 --port "$PORT" \
    --single "$unit" ${ENCODINGS---ignore-encoding} --ignore-digest \
    --skiptest "/propagate" --skiptest "/replica" $(for p in ${SKIP:-}; do printf -- '--skiptest /%s ' "$p"; done) \
    --tags "-needs:debug -needs:repl -needs:save -needs:config-maxmemory" >"$log" 2>&1)
  ok=$(grep -ac '\[.*ok.*\]' "$log")
  bad=$(grep -a -A8 -E '\[.*(err|exception).*\]' "$log")
  if grep -aq "All tests passed" "$log" && [ -z "$bad" ]; then
    echo "$unit: $ok ok, all passed"
  else
    echo "$unit: $ok ok, then:"
    echo "$bad" | head -20
    rc=1
  fi
done
exit $rc
