#!/usr/bin/env bash
# The official postgres image's entrypoint contract, for the Debian-packaged server:
#   - arguments starting with '-' are options to `postgres`;
#   - as root, it owns PGDATA for uid 999 and re-runs itself as that user;
#   - on an empty PGDATA it runs initdb for POSTGRES_USER (default postgres) with the password from
#     POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, creates POSTGRES_DB, and admits network clients
#     with scram-sha-256 (or POSTGRES_HOST_AUTH_METHOD), all through a socket-only temporary server;
#   - then it execs the command.
set -euo pipefail

fail() { printf 'docker-entrypoint: %s\n' "$*" >&2; exit 1; }

if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi

# Read as root, as the official image does: secrets are often root-only files (mode 0600).
if [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
  [[ -r $POSTGRES_PASSWORD_FILE ]] || fail "POSTGRES_PASSWORD_FILE $POSTGRES_PASSWORD_FILE is not readable"
  POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
  export POSTGRES_PASSWORD
  unset POSTGRES_PASSWORD_FILE
fi

if [[ ${1:-} == postgres && $(id -u) == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ${1:-} == postgres && ! -s $PGDATA/PG_VERSION ]]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  password=${POSTGRES_PASSWORD:-}
  [[ -n $password || $auth == trust ]] ||
    fail 'the database is uninitialized and no password is set: set POSTGRES_PASSWORD(_FILE) or POSTGRES_HOST_AUTH_METHOD=trust'
  pwfile=$(mktemp)
  printf '%s\n' "${password:-unused}" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" -E UTF8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  if [[ $db != postgres ]]; then
    psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres -c "CREATE DATABASE \"$db\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
