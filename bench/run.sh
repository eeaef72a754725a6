#!/usr/bin/env bash
# tenantflow's speed against PostGraphile 4 and a raw-SQL ceiling, in one run, on the same data.
#
#   bench/run.sh            full run: 100 tenants, 1M executions, 3 interleaved rounds
#   bench/run.sh --quick    10 tenants, one short round (under 3 minutes)
#   bench/run.sh --smoke    a tiny data set, proves that every part runs (CI)
#   bench/run.sh --live     only the live-status loads, at the full run's scale
#   extra: --rounds N, --duration S (seconds per load run)
#
# It builds everything it measures and touches nothing it did not create: a PostgreSQL cluster
# of its own (initdb into bench/.work/, its own port), a Redis of its own, the servers. The trap
# stops all of it and removes the cluster. Missing Debian packages are installed with apt-get
# (as root), PostGraphile with npm into bench/.work/. The report is printed and written to
# bench/.work/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/.work

MODE=full
DRIVER_ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) MODE=quick ;;
    --smoke) MODE=smoke ;;
    --live) MODE=live ;;
    --full) MODE=full ;;
    --rounds | --duration) DRIVER_ARGS+=("$1" "$2"); shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# --- tools -----------------------------------------------------------------------------------
ensure_debian_package() {  # command package
  if ! command -v "$1" >/dev/null 2>&1; then
    log "installing $2"
    apt-get install -y -qq "$2" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
  fi
}
ensure_debian_package wrk wrk
ensure_debian_package redis-server redis-server
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[[ -x $PG_BIN/initdb && -x $PG_BIN/pgbench ]] || { echo "bench/run.sh: no PostgreSQL server binaries" >&2; exit 1; }
[[ -f $(dirname "$PG_BIN")/lib/pg_stat_statements.so ]] || { echo "bench/run.sh: pg_stat_statements missing" >&2; exit 1; }

mkdir -p "$WORK/results"
NODE_DIR=$WORK/postgraphile
# npm ci only when the lock file changed: the install is kept between runs.
if ! cmp -s bench/postgraphile/package-lock.json "$NODE_DIR/package-lock.json" || [[ ! -d $NODE_DIR/node_modules ]]; then
  log "installing PostGraphile into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp bench/postgraphile/package.json bench/postgraphile/package-lock.json "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp bench/postgraphile/server.js "$NODE_DIR/server.js"

if [[ ! -x .venv/bin/tenantflow ]]; then
  log "installing tenantflow into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q -c constraints.txt -e '.[dev]'
fi

free_port() { .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- what this run starts, and the trap that stops it ----------------------------------------
RUN=$(mktemp -d "$WORK/run.XXXXXX")
chmod 755 "$RUN"
chown postgres "$RUN"  # the cluster writes its socket and log here
mkdir -p "$RUN/pids"
PG_DATA=$RUN/pg
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pidfile in "$RUN"/pids/*.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  if [[ -f $PG_DATA/postmaster.pid ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [[ -f $RUN/redis.pid ]]; then
    kill -TERM "$(cat "$RUN/redis.pid")" 2>/dev/null || true
  fi
  # Keep the last run's logs for a look afterwards; drop the data.
  rm -rf "$WORK/logs-$MODE"
  mkdir -p "$WORK/logs-$MODE"
  cp "$RUN"/*.log "$WORK/logs-$MODE/" 2>/dev/null || true
  rm -rf "$RUN"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- PostgreSQL cluster of its own -----------------------------------------------------------
PG_PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$PG_PASSWORD" >"$RUN/pg.pass"
chown postgres "$RUN/pg.pass"
chmod 600 "$RUN/pg.pass"
log "initdb $PG_DATA (port $PG_PORT)"
mkdir -m 700 "$PG_DATA"
chown postgres "$PG_DATA"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=scram-sha-256 \
  --pwfile="$RUN/pg.pass" -E UTF8 --locale=C.UTF-8 >"$RUN/initdb.log"
cat >>"$PG_DATA/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
max_connections = 400
shared_buffers = '1GB'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
pg_stat_statements.track = top
max_wal_size = '4GB'
# The live-status load measures delivery from each event's commit (pg_xact_commit_timestamp).
track_commit_timestamp = on
CONF
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$RUN/postgresql.log" -w start >/dev/null

# --- Redis of its own (tenantflow's cache, rate limits and event fan-out) --------------------
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --dir "$RUN" --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"

# Many sockets: 64 connections per load and up to 2,000 idle subscriptions.
ulimit -n 65536 2>/dev/null || true

log "driver ($MODE)"
PGPASSWORD=$PG_PASSWORD .venv/bin/python -m bench.driver --mode "$MODE" --run-dir "$RUN" \
  --pg-bin "$PG_BIN" --pg-port "$PG_PORT" --redis-url "redis://127.0.0.1:$REDIS_PORT/0" \
  --node-dir "$NODE_DIR" --results-dir "$WORK/results" "${DRIVER_ARGS[@]}"
