#!/usr/bin/env bash
# `make serve-prod`: VM Lab as it is deployed, on this machine. DEBUG=False, PostgreSQL, Redis for the counters
# every worker shares and as the task queue's broker, static files collected and served by whitenoise, gunicorn
# running uvicorn workers, and the task queue's worker (`manage.py qcluster`) beside it.
# Plain HTTP on loopback, so the HTTPS-only settings are off unless the environment says otherwise; behind
# a TLS proxy, set SECURE_PROXY_SSL=true and leave them on (README, "Production").
# The workers reach PostgreSQL through PgBouncer in transaction mode, started here on a free loopback port with a
# configuration written for this run (scripts/pgbouncer_config.py), so that a request no longer costs a new
# PostgreSQL connection; DATABASE_POOLING=none connects them directly instead.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-.venv/bin/python}

export DEBUG=false
export DATABASE_URL=${PROD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/vmlab}
export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/0}
export TASK_BROKER_URL=${TASK_BROKER_URL:-redis://127.0.0.1:6379/1}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-false}
export CSRF_COOKIE_SECURE=${CSRF_COOKIE_SECURE:-false}
pooling=${DATABASE_POOLING:-pgbouncer}
case "$pooling" in
  pgbouncer|none) ;;
  *) echo "DATABASE_POOLING must be pgbouncer (the default here) or none, not '$pooling'." >&2; exit 1 ;;
esac
export DATABASE_POOLING=none  # the commands below connect directly; only the server goes through PgBouncer

"$py" scripts/create_database.py "$DATABASE_URL"
for url in "$CACHE_URL" "$TASK_BROKER_URL"; do
  case "$url" in
    redis*)
      "$py" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()' "$url" \
        2>/dev/null || { echo "Redis at $url is not answering: start it, or set CACHE_URL / TASK_BROKER_URL." >&2; exit 1; } ;;
  esac
done
"$py" manage.py migrate --no-input
"$py" manage.py collectstatic --no-input --verbosity 0
"$py" manage.py seed_users
"$py" manage.py setup_schedules
# gunicorn with the task queue's worker beside it (scripts/with_worker.sh), both on the same database connection set-up.
gunicorn=(env PY="$py" bash scripts/with_worker.sh "$(dirname "$py")/gunicorn" --config deploy/gunicorn.conf.py
  vmlab.asgi:application)
if [ "$pooling" = none ]; then
  echo "VM Lab (production server, direct PostgreSQL connections): http://${BIND:-127.0.0.1:8000}, task queue on $TASK_BROKER_URL"
  exec "${gunicorn[@]}"
fi

pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)  # Debian installs it in sbin
if [ ! -x "$pgbouncer" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing PgBouncer (Debian's pgbouncer) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends pgbouncer >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends pgbouncer >/dev/null; } || true
fi
if [ ! -x "$pgbouncer" ]; then
  echo "PgBouncer is not installed: apt-get install pgbouncer (Debian), or run with DATABASE_POOLING=none." >&2
  exit 1
fi
rundir=$(mktemp -d "${TMPDIR:-/tmp}/vmlab-pgbouncer.XXXXXX")
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
client_url=$("$py" scripts/pgbouncer_config.py "$DATABASE_URL" "$rundir" --listen "127.0.0.1:$port" \
  --pool-size "${PGBOUNCER_POOL_SIZE:-20}")
as_user=()
if [ "$(id -u)" = 0 ]; then  # PgBouncer refuses to run as root
  chown -R postgres "$rundir"
  as_user=(--user postgres)
fi
"$pgbouncer" "${as_user[@]}" "$rundir/pgbouncer.ini" &
pgbouncer_pid=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$pgbouncer_pid" 2>/dev/null || { echo "PgBouncer did not start." >&2; rm -rf "$rundir"; exit 1; }
  sleep 0.1
done

echo "VM Lab (production server, PostgreSQL through PgBouncer on 127.0.0.1:$port): http://${BIND:-127.0.0.1:8000}, task queue on $TASK_BROKER_URL"
DATABASE_URL=$client_url DATABASE_POOLING=pgbouncer "${gunicorn[@]}" &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null || true' TERM INT
# Until the server stops (a signal, trapped above, asks it to) or PgBouncer does; then the server stops first, with
# its graceful timeout for the requests under way, and PgBouncer after it.
status=0
wait -n -p stopped "$server_pid" "$pgbouncer_pid" || status=$?
if [ "${stopped:-}" = "$pgbouncer_pid" ]; then
  echo "PgBouncer stopped: stopping the server." >&2
  status=1
fi
kill -TERM "$server_pid" 2>/dev/null || true
while kill -0 "$server_pid" 2>/dev/null; do
  server_status=0
  wait "$server_pid" || server_status=$?
  [ -n "${stopped:-}" ] || status=$server_status  # stopped by a signal: the server's own exit status
done
kill -TERM "$pgbouncer_pid" 2>/dev/null || true
wait "$pgbouncer_pid" 2>/dev/null || true
rm -rf "$rundir"
exit "$status"
