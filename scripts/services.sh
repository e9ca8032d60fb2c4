# Throwaway services for tests, started on 127.0.0.1 and stopped by PID. Source this file; it defines functions only.
# (No `set -e` here: an expected failing command inside a helper must not skip the stop.)

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGPORT=${PGPORT:-55432}

pg_start() {
  PGTMP=$(mktemp -d -t aitip-pg.XXXXXX) && chown postgres: "$PGTMP" || return 1
  echo secret > "$PGTMP/pw"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGTMP/data" -U postgres --pwfile="$PGTMP/pw" \
      -A scram-sha-256 --auth-local=trust -E UTF8 >"$PGTMP/initdb.log" || { cat "$PGTMP/initdb.log"; return 1; }
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -t 30 \
      -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null \
      || { cat "$PGTMP/log"; return 1; }
  PGPASSWORD=secret "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE app" || return 1
  export AITIP_TEST_POSTGRES_URL="postgres://postgres:secret@127.0.0.1:$PGPORT/app"
}

pg_stop() {
  [ -n "${PGTMP:-}" ] || return 0
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$PGTMP"
  PGTMP=
}
