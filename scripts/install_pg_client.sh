#!/usr/bin/env bash
# pg_dump and pg_restore, for `manage.py backup` and `restore` on PostgreSQL and for the backup drills of `make test`:
# Debian's postgresql-client, installed when missing. Usage: install_pg_client.sh [--optional]
# CI calls it plain (no client, no PostgreSQL drill: a failure). `make` passes --optional: where apt-get cannot
# install (not root, not Debian), it says so and goes on; the PostgreSQL drills are then skipped outside CI.
set -euo pipefail
if command -v pg_dump >/dev/null && command -v pg_restore >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
install_client() { apt-get install -y -q --no-install-recommends postgresql-client; }
if install_client || { apt-get update -q && install_client; }; then
  exit 0
fi
if [ "${1:-}" = "--optional" ]; then
  echo "== pg_dump and pg_restore are missing and could not be installed: install postgresql-client to back up PostgreSQL =="
  exit 0
fi
exit 1
