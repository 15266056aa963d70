# PgBouncer in transaction mode in front of compose.yaml's PostgreSQL (README.md, "Production"): Debian's package,
# configured at every start from DATABASE_URL by the script `make serve-prod` uses too (scripts/pgbouncer_config.py).
# Clients (the app) must give the database password; PgBouncer listens on the compose network only.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends pgbouncer \
    && rm -rf /var/lib/apt/lists/*
COPY scripts/pgbouncer_config.py /usr/local/lib/vmlab/pgbouncer_config.py

# Debian's postgres user (from postgresql-common): PgBouncer refuses to run as root.
USER postgres
EXPOSE 6432
CMD ["sh", "-c", "python /usr/local/lib/vmlab/pgbouncer_config.py \"$DATABASE_URL\" /tmp/pgbouncer --listen 0.0.0.0:6432 --pool-size \"${PGBOUNCER_POOL_SIZE:-20}\" > /dev/null && exec /usr/sbin/pgbouncer /tmp/pgbouncer/pgbouncer.ini"]
