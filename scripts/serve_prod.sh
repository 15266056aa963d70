#!/usr/bin/env bash
# `make serve-prod`: VM Lab as it is deployed, on this machine. DEBUG=False, PostgreSQL, Redis for the counters
# every worker shares and as the task queue's broker, static files collected and served by whitenoise, gunicorn
# running uvicorn workers, and the task queue's worker (`manage.py qcluster`) beside it.
# Plain HTTP on loopback, so the HTTPS-only settings are off unless the environment says otherwise; behind
# a TLS proxy, set SECURE_PROXY_SSL=true and leave them on (README, "Production").
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
echo "VM Lab (production server): http://${BIND:-127.0.0.1:8000}, task queue on $TASK_BROKER_URL"
PY=$py exec bash scripts/with_worker.sh "$(dirname "$py")/gunicorn" --config deploy/gunicorn.conf.py vmlab.asgi:application
