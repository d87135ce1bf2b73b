# shellcheck shell=bash
# .ci/services.sh: start the test services (DESIGN.md section 9). Source it, don't run it:
#
#   source .ci/services.sh        # installs what is missing, starts everything, exports:
#     PG_URL     postgres://postgres@127.0.0.1:<port>/symphainy   (trust auth, loopback only)
#     MONGO_URL  mongodb://127.0.0.1:<port>/    (FerretDB v1 embedded in test/services/mongo,
#                                                on the same PostgreSQL, database "ferretdb")
#     REDIS_URL  redis://127.0.0.1:<port>        (no persistence)
#   trap stop_services EXIT       # the caller owns its traps; stop_services is idempotent
#
# Everything runs from one throwaway directory under /tmp that stop_services removes. The
# PostgreSQL cluster is made there with initdb and its postmaster runs as a child of this
# shell, as the `postgres` user when we are root (PostgreSQL refuses to run as root);
# nothing is written to /etc/postgresql or /var/lib/postgresql, and no systemd is needed.
# Ports: PostgreSQL and Redis get a free port picked just before they start (retried if
# taken in between); FerretDB listens on port 0 and reports the port in its ready line.
# On a start failure the relevant log is printed, whatever was started is stopped, and the
# `source` returns non-zero.
#
# Works on a fresh machine (apt installs postgresql and redis-server, `apt-get update` only
# if the install fails without it; Go must be on PATH) and on a warm one (seconds: Go's
# module and build caches make the wrapper's rebuild cheap; its binary goes to .tmp/).

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  echo "usage: source ${0} (it exports MONGO_URL, REDIS_URL, PG_URL and defines stop_services)" >&2
  exit 2
fi

_svc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_svc_log() { echo "== services: $*" >&2; }

_svc_now() { date +%s.%N; }
_svc_since() { awk -v a="$1" -v b="$(_svc_now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Print the last lines of a log file, for a start failure.
_svc_show_log() {
  local f="$1"
  if [[ -s "$f" ]]; then
    echo "---- tail of $f" >&2
    tail -n 40 "$f" >&2
    echo "----" >&2
  fi
}

_svc_sudo() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

# Run a PostgreSQL tool as the postgres user when we are root (it refuses to run as root).
_svc_as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

_svc_pg_bindir() {
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/initdb" && -x "$d/postgres" ]] || return 1
  echo "$d"
}

# A TCP port that nothing listens on right now.
_svc_free_port() {
  local port
  port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' 2>/dev/null)" ||
    port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null)" ||
    port=""
  while [[ -z "$port" ]]; do
    port=$((20000 + RANDOM % 30000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=""; fi
  done
  echo "$port"
}

_svc_tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Stop a process we started: signal $3 (default TERM), up to $2 seconds, then SIGKILL.
_svc_kill() {
  local pid="$1" grace="${2:-10}" sig="${3:-TERM}" i
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    _svc_log "pid $pid still running ${grace}s after SIG$sig; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# ---- install ---------------------------------------------------------------------------

_svc_apt_install() {
  local log="$_SVC_DIR/apt.log" added_policy="" rc=0
  # Don't let the packages' maintainer scripts start their own system-wide servers.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | _svc_sudo tee /usr/sbin/policy-rc.d >/dev/null &&
      _svc_sudo chmod 755 /usr/sbin/policy-rc.d && added_policy=1
  fi
  _svc_log "apt-get install $*"
  if ! _svc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >"$log" 2>&1; then
    _svc_log "install failed without fresh package lists: apt-get update, then again"
    { _svc_sudo apt-get update -q &&
      _svc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } >>"$log" 2>&1 || rc=$?
  fi
  [[ -n "$added_policy" ]] && _svc_sudo rm -f /usr/sbin/policy-rc.d
  if [[ $rc != 0 ]]; then
    _svc_show_log "$log"
    return 1
  fi
}

_svc_install() {
  local missing=()
  _svc_pg_bindir >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  if ((${#missing[@]})); then
    _svc_apt_install "${missing[@]}" || return 1
  fi
  _svc_pg_bindir >/dev/null || { _svc_log "no initdb/postgres under /usr/lib/postgresql/*/bin"; return 1; }
  if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    _svc_log "no postgres user"; return 1
  fi
  if ! command -v go >/dev/null; then
    _svc_log "go is not on PATH: it is needed to build test/services/mongo (FerretDB)"; return 1
  fi
}

# ---- PostgreSQL --------------------------------------------------------------------------

_svc_start_pg() {
  local bin base data log port attempt i t0 runas=()
  t0="$(_svc_now)"
  _SVC_PG_PORT=""
  bin="$(_svc_pg_bindir)"
  base="$_SVC_DIR/pg" data="$_SVC_DIR/pg/data" log="$_SVC_DIR/postgres.log"
  mkdir -p "$base" && chmod 700 "$base" || return 1
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres:postgres "$base" || return 1
    # setpriv execs (runuser forks), so $! below is the postmaster itself and this shell
    # reaps it on stop.
    runas=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi

  if ! _svc_as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$_SVC_DIR/initdb.log" 2>&1; then
    _svc_log "initdb failed"; _svc_show_log "$_SVC_DIR/initdb.log"; return 1
  fi

  for attempt in 1 2 3; do
    port="$(_svc_free_port)"
    # Throwaway cluster: durability off; Unix socket inside our own directory.
    (cd "$base" && exec "${runas[@]}" "$bin/postgres" -D "$data" -p "$port" -k "$base" \
      -c listen_addresses=127.0.0.1 -c max_connections=200 \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off) </dev/null >>"$log" 2>&1 &
    _SVC_PG_PID=$!
    for ((i = 0; i < 600; i++)); do
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        _SVC_PG_PORT="$port"
        break 2
      fi
      kill -0 "$_SVC_PG_PID" 2>/dev/null || break
      sleep 0.1
    done
    _svc_log "postgres did not start on port $port (attempt $attempt)"
    _svc_show_log "$log"
    _svc_kill "$_SVC_PG_PID" 5 INT
    _SVC_PG_PID=""
  done
  [[ -n "${_SVC_PG_PORT:-}" ]] || return 1

  local db
  for db in ferretdb symphainy; do
    if ! _svc_as_pg "$bin/createdb" -h 127.0.0.1 -p "$_SVC_PG_PORT" -U postgres "$db" >>"$_SVC_DIR/createdb.log" 2>&1; then
      _svc_log "createdb $db failed"; _svc_show_log "$_SVC_DIR/createdb.log"; return 1
    fi
  done
  export PG_URL="postgres://postgres@127.0.0.1:$_SVC_PG_PORT/symphainy"
  _svc_log "postgres $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$_SVC_PG_PORT ($(_svc_since "$t0"))"
}

# ---- FerretDB (MongoDB wire protocol) ----------------------------------------------------

_svc_build_ferretdb() {
  local t0 out="$_svc_root/.tmp/services/ferretdb-wrapper"
  t0="$(_svc_now)"
  mkdir -p "$(dirname "$out")" || return 1
  if ! (cd "$_svc_root/test/services/mongo" && GOFLAGS=-mod=readonly go build -buildvcs=false -o "$out" .) >"$_SVC_DIR/go-build.log" 2>&1; then
    _svc_log "go build of test/services/mongo failed"; _svc_show_log "$_SVC_DIR/go-build.log"; return 1
  fi
  _SVC_FERRET_BIN="$out"
  _svc_log "built test/services/mongo ($(_svc_since "$t0"))"
}

_svc_start_ferretdb() {
  local t0 out="$_SVC_DIR/ferretdb.out" log="$_SVC_DIR/ferretdb.log" line="" i url port
  t0="$(_svc_now)"
  "$_SVC_FERRET_BIN" -listen 127.0.0.1:0 -log-level error -ready-timeout 60s \
    -postgresql-url "postgres://postgres@127.0.0.1:$_SVC_PG_PORT/ferretdb?pool_max_conns=120" \
    </dev/null >"$out" 2>"$log" &
  _SVC_FERRET_PID=$!
  # The ready line comes once the server answered a `ping` through the Go driver (which
  # also reaches PostgreSQL); the wrapper itself gives up after -ready-timeout.
  for ((i = 0; i < 900; i++)); do
    line="$(grep -m 1 '^ferretdb-wrapper ready ' "$out" 2>/dev/null)" && break
    line=""
    kill -0 "$_SVC_FERRET_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$line" ]]; then
    _svc_log "FerretDB did not report ready"; _svc_show_log "$log"; return 1
  fi
  url="${line##* }"
  port="${url#mongodb://127.0.0.1:}" port="${port%%/*}"
  if ! _svc_tcp_open 127.0.0.1 "$port"; then
    _svc_log "FerretDB reported $url but does not accept connections"; _svc_show_log "$log"; return 1
  fi
  export MONGO_URL="$url"
  _svc_log "FerretDB (MongoDB wire protocol, PostgreSQL backend) at $MONGO_URL ($(_svc_since "$t0"))"
}

# ---- Redis -------------------------------------------------------------------------------

_svc_start_redis() {
  local t0 port attempt i log="$_SVC_DIR/redis.log"
  t0="$(_svc_now)"
  for attempt in 1 2 3; do
    port="$(_svc_free_port)"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --daemonize no --dir "$_SVC_DIR" --logfile "$log" </dev/null >/dev/null 2>&1 &
    _SVC_REDIS_PID=$!
    for ((i = 0; i < 100; i++)); do
      if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; then
        export REDIS_URL="redis://127.0.0.1:$port"
        _svc_log "redis $(redis-server --version | grep -o 'v=[^ ]*' | cut -c3-) at $REDIS_URL ($(_svc_since "$t0"))"
        return 0
      fi
      kill -0 "$_SVC_REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    _svc_log "redis did not start on port $port (attempt $attempt)"; _svc_show_log "$log"
    _svc_kill "$_SVC_REDIS_PID" 2
    _SVC_REDIS_PID=""
  done
  return 1
}

# ---- start / stop ------------------------------------------------------------------------

stop_services() {
  [[ -n "${_SVC_DIR:-}" ]] || return 0
  _svc_kill "${_SVC_FERRET_PID:-}" 10
  _svc_kill "${_SVC_REDIS_PID:-}" 10
  # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for clients to disconnect).
  _svc_kill "${_SVC_PG_PID:-}" 30 INT
  rm -rf "$_SVC_DIR"
  _svc_log "stopped"
  _SVC_DIR="" _SVC_FERRET_PID="" _SVC_REDIS_PID="" _SVC_PG_PID="" _SVC_PG_PORT=""
  return 0
}

_svc_start_all() {
  local t0
  t0="$(_svc_now)"
  if [[ -n "${_SVC_DIR:-}" ]]; then
    _svc_log "already started in this shell ($_SVC_DIR): restarting"
    stop_services
  fi
  _SVC_DIR="$(mktemp -d /tmp/symphainy-services.XXXXXX)" || return 1
  chmod 755 "$_SVC_DIR"
  _svc_install || return 1
  _svc_start_pg || return 1
  _svc_start_redis || return 1
  _svc_build_ferretdb || return 1
  _svc_start_ferretdb || return 1
  _svc_log "all up in $(_svc_since "$t0"): MONGO_URL=$MONGO_URL REDIS_URL=$REDIS_URL PG_URL=$PG_URL"
}

if ! _svc_start_all; then
  _svc_log "failed to start; stopping what was started"
  stop_services
  return 1
fi
