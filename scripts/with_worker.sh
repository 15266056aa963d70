#!/usr/bin/env bash
# Runs a server command with the task queue's worker (`manage.py qcluster`) beside it, for `make run` and
# `make serve-prod`: PY=.venv/bin/python scripts/with_worker.sh command [arguments...]
#
# The server takes this process's place (exec), so whoever started it (make, a benchmark, a process manager) holds
# the server's own process id. The worker is detached from it, so that the server's child processes are only its
# own, and a watcher stops the worker (SIGTERM: it finishes its task first) once the server is gone. Ctrl+C stops
# both at once.
set -euo pipefail
py=${PY:-.venv/bin/python}
server=$$

(
  (
    "$py" manage.py qcluster &
    worker=$!
    while kill -0 "$server" 2>/dev/null && kill -0 "$worker" 2>/dev/null; do sleep 1; done
    kill -TERM "$worker" 2>/dev/null || true
    wait "$worker" || true
  ) &
)
exec "$@"
