#!/usr/bin/env bash
# The PostgreSQL pass of `make test`: usage: test_postgres.sh DATABASE_URL command...
# Without a reachable server it is skipped with a clear note, except under CI, where it fails.
set -euo pipefail
url=$1; shift

reachable() {
  "$1" - "$url" <<'PY'
import sys, psycopg2
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
try:
    psycopg2.connect(host=u.hostname, port=u.port or 5432, user=u.username, password=u.password,
                     dbname="postgres", connect_timeout=3).close()
except psycopg2.OperationalError as error:
    sys.exit(str(error).strip())
PY
}

# A Debian-style local cluster that is down is started, as on the lab's developer machines.
if ! reachable "$1" 2>/dev/null && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "== PostgreSQL is not answering: starting the local $version/main cluster =="
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  sleep 2
fi
if ! why=$(reachable "$1" 2>&1); then
  if [ "${CI:-}" = "true" ]; then
    echo "== PostgreSQL pass FAILED: cannot connect to $url: $why ==" >&2
    exit 1
  fi
  echo "== PostgreSQL pass SKIPPED: cannot connect to $url: $why"
  echo "   Start PostgreSQL (or set POSTGRES_TEST_URL, with a password if the server asks for one) and run 'make test' again. =="
  exit 0
fi
echo "== pytest on PostgreSQL ($url) =="
DATABASE_URL=$url exec "$@"
