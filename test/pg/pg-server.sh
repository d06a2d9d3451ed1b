#!/bin/bash
# pg-server.sh start|stop|crash|resume DIR [--tcp] [--durable]
#
# A private PostgreSQL server for the tests and benchmarks (Debian's postgresql-15): nothing of the
# system's own cluster is touched.
#   start   initdb into a new directory under $TMPDIR (owned by postgres when run as root: initdb
#           refuses root), a unix socket in that directory (plus 127.0.0.1 on a free port with --tcp),
#           a database "keystore"; writes DIR/conninfo (libpq keyword string), DIR/url (postgresql://),
#           DIR/port, DIR/pgdir. Without --durable, fsync is off (a test server: a crash of the
#           server process still loses nothing committed, only an OS crash would).
#   stop    stops the server by its postmaster PID (fast shutdown) and removes its directory.
#   crash   kills it by PID with SIGQUIT (pg_ctl stop -m immediate: no shutdown checkpoint).
#   resume  starts it again after crash (same directory, socket and port).
# Exit status 0 on success; on failure, the server log is printed.
set -euo pipefail
action=${1:?usage: pg-server.sh start|stop|crash|resume DIR [--tcp] [--durable]}
DIR=${2:?usage: pg-server.sh start|stop|crash|resume DIR [--tcp] [--durable]}
shift 2
tcp=0 durable=0
for a in "$@"; do
  case $a in
    --tcp) tcp=1 ;;
    --durable) durable=1 ;;
    *) echo "pg-server.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "pg-server.sh: no PostgreSQL server (apt install postgresql-15)" >&2; exit 1; }

as_pg() { # runs a server command as postgres when we are root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pid_of() { head -1 "$1/data/postmaster.pid" 2>/dev/null || true; }

wait_gone() { # PID: waits up to 30 s for the process to end
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  echo "pg-server.sh: postmaster $1 did not stop" >&2
  return 1
}

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]; then echo "$p"; return 0; fi
  done
  return 1
}

launch() { # PGDIR PORT
  local opts="-p $2 -k $1 -c listen_addresses=$( [ "$tcp" -eq 1 ] && echo 127.0.0.1 || echo "''" )"
  opts+=" -c max_connections=200 -c shared_buffers=32MB"
  [ "$durable" -eq 1 ] || opts+=" -c fsync=off -c full_page_writes=off"
  echo "$opts" > "$DIR/options"
  if ! as_pg "$BIN/pg_ctl" -D "$1/data" -l "$1/log" -o "$opts" -w -t 60 start > /dev/null; then
    cat "$1/log" >&2 || true
    return 1
  fi
}

case $action in
  start)
    mkdir -p "$DIR"
    P=$(mktemp -d "${TMPDIR:-/tmp}/smime-pg.XXXXXX")
    chmod 755 "$P"
    [ "$(id -u)" -eq 0 ] && chown postgres "$P"
    echo "$P" > "$DIR/pgdir"
    as_pg "$BIN/initdb" -D "$P/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 > "$P/initdb.log" 2>&1 \
      || { cat "$P/initdb.log" >&2; exit 1; }
    started=0
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      if launch "$P" "$port"; then started=1; break; fi
      [ "$tcp" -eq 1 ] || break  # a socket in our own directory cannot be taken by anyone else
    done
    [ "$started" -eq 1 ] || exit 1
    echo "$port" > "$DIR/port"
    "$BIN/psql" -X -q -h "$P" -p "$port" -U postgres -d postgres -c "CREATE DATABASE keystore" > /dev/null
    echo "host=$P port=$port user=postgres dbname=keystore" > "$DIR/conninfo"
    if [ "$tcp" -eq 1 ]; then
      echo "postgresql://postgres@127.0.0.1:$port/keystore" > "$DIR/url"
    else
      echo "postgresql://postgres@/keystore?host=$P&port=$port" > "$DIR/url"
    fi
    ;;
  stop)
    P=$(cat "$DIR/pgdir" 2>/dev/null) || exit 0
    pid=$(pid_of "$P")
    if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait_gone "$pid"; fi
    rm -rf -- "$P"
    rm -f -- "$DIR/pgdir" "$DIR/conninfo" "$DIR/url" "$DIR/port" "$DIR/options"
    ;;
  crash)
    P=$(cat "$DIR/pgdir")
    pid=$(pid_of "$P")
    [ -n "$pid" ] || { echo "pg-server.sh: not running" >&2; exit 1; }
    kill -QUIT "$pid"
    wait_gone "$pid"
    ;;
  resume)
    P=$(cat "$DIR/pgdir")
    opts=$(cat "$DIR/options")
    as_pg "$BIN/pg_ctl" -D "$P/data" -l "$P/log" -o "$opts" -w -t 60 start > /dev/null || { cat "$P/log" >&2; exit 1; }
    ;;
  *) echo "pg-server.sh: unknown action $action" >&2; exit 2 ;;
esac
