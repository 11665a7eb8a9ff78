#!/bin/sh
# make test-virtuoso: run tests/test_remote_store.py against OpenLink Virtuoso.
#
# Installs the Debian package virtuoso-opensource when virtuoso-t is missing (root and apt-get
# needed), starts Virtuoso on loopback ports over a temporary database, lets the anonymous
# SPARQL user update (GRANT SPARQL_UPDATE), runs the remote-store tests against its /sparql
# endpoint (MEAHUB_TEST_QUERY_URL/UPDATE_URL), and stops it again whatever the outcome: tests
# passing or failing, Virtuoso failing to start, Ctrl-C, or SIGTERM to this script.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${1:-.venv/bin/python}

if ! command -v virtuoso-t >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing virtuoso-opensource (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      virtuoso-opensource >/dev/null
  else
    echo "virtuoso-t not found, and cannot install virtuoso-opensource (needs root and apt-get)" >&2
    exit 1
  fi
fi

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SQL_PORT=$(free_port)
HTTP_PORT=$(free_port)
DB=$(mktemp -d)
PID=""
TESTS=""

# Wait up to $2 seconds for process $1 to end (or be a zombie); true when it has.
ended() {
  n=0
  while kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; do
    n=$((n + 1))
    [ "$n" -gt $(($2 * 4)) ] && return 1
    sleep 0.25
  done
}

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$TESTS" ] && kill -0 "$TESTS" 2>/dev/null; then
    kill "$TESTS" 2>/dev/null || true
    ended "$TESTS" 10 || kill -9 "$TESTS" 2>/dev/null || true
  fi
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    # a clean shutdown (checkpoint) first, then SIGTERM, then SIGKILL
    timeout 20 isql-vt "127.0.0.1:$SQL_PORT" dba dba exec="shutdown;" >/dev/null 2>&1 || true
    if ! ended "$PID" 20; then
      kill "$PID" 2>/dev/null || true
      ended "$PID" 10 || kill -9 "$PID" 2>/dev/null || true
    fi
    wait "$PID" 2>/dev/null || true
  fi
  PID=""
  rm -rf "$DB"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

cat > "$DB/virtuoso.ini" <<INI
[Database]
DatabaseFile = $DB/virtuoso.db
ErrorLogFile = $DB/virtuoso.log
LockFile = $DB/virtuoso.lck
TransactionFile = $DB/virtuoso.trx
xa_persistent_file = $DB/virtuoso.pxa
[TempDatabase]
DatabaseFile = $DB/virtuoso-temp.db
TransactionFile = $DB/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:$SQL_PORT
DisableUnixSocket = 1
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
DirsAllowed = ., $DB
[HTTPServer]
ServerPort = 127.0.0.1:$HTTP_PORT
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
ServerThreads = 10
MaxClientConnections = 10
[SPARQL]
ResultSetMaxRows = 10000000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 0
DefaultQuery = ASK {}
INI

echo "starting Virtuoso: SQL 127.0.0.1:$SQL_PORT, HTTP 127.0.0.1:$HTTP_PORT, database $DB"
(cd "$DB" && exec virtuoso-t +configfile "$DB/virtuoso.ini" +foreground >"$DB/stdout.log" 2>&1) &
PID=$!
i=0
until timeout 10 isql-vt "127.0.0.1:$SQL_PORT" dba dba exec="status();" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 120 ] || ! kill -0 "$PID" 2>/dev/null; then
    echo "Virtuoso did not start; its log:" >&2
    tail -n 30 "$DB/virtuoso.log" "$DB/stdout.log" >&2 || true
    exit 1
  fi
  sleep 0.5
done
timeout 60 isql-vt "127.0.0.1:$SQL_PORT" dba dba \
  exec="GRANT SPARQL_UPDATE TO \"SPARQL\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);" >/dev/null

# pytest runs in the background so that a signal reaches the traps at once (sh runs a trap
# only after the foreground command ends)
MEAHUB_TEST_STORE=virtuoso \
MEAHUB_TEST_QUERY_URL="http://127.0.0.1:$HTTP_PORT/sparql" \
MEAHUB_TEST_UPDATE_URL="http://127.0.0.1:$HTTP_PORT/sparql" \
  "$PYTHON" -m pytest -p no:cacheprovider tests/test_remote_store.py &
TESTS=$!
status=0
wait "$TESTS" || status=$?
TESTS=""
if [ "$status" -ne 0 ]; then
  echo "the tests failed (status $status); the end of Virtuoso's log:" >&2
  tail -n 20 "$DB/virtuoso.log" >&2 || true
fi
exit "$status"
