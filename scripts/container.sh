#!/bin/sh
# The Docker image's entry point: one image, two roles (compose.yaml runs one of each).
#   web     migrations and the periodic jobs' schedules (both safe to repeat), then gunicorn as PID 1
#   worker  the task queue's worker (`manage.py qcluster`): probes, reminders, e-mails; run as many as you like
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --no-input
    python manage.py setup_schedules
    exec gunicorn --config deploy/gunicorn.conf.py vmlab.asgi:application ;;
  worker)
    exec python manage.py qcluster ;;
  *)
    exec "$@" ;;
esac
