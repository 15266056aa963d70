# VM Lab's production image: gunicorn with uvicorn workers (pages and the terminal's WebSockets) on port 8000,
# static files collected at build time and served by whitenoise; or, given the argument `worker`, the task queue's
# worker. Configuration comes from the environment (README.md, "Configuration"); compose.yaml runs one of each with
# PostgreSQL and Redis.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump and pg_restore for `manage.py backup` and `restore`: Debian 12's are PostgreSQL 15's, as in compose.yaml.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /home/vmlab vmlab \
    && install -d -m 700 -o vmlab /backups
ENV BACKUP_DIR=/backups
WORKDIR /app

# python-ldap (sign-in against an LDAP directory) compiles against OpenLDAP's and SASL's headers; GNU gettext
# compiles the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libldap2-dev libsasl2-dev gettext \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The translations (locale/*/LC_MESSAGES/*.po) compiled into the .mo files Django reads, as `make` does.
RUN for po in locale/*/LC_MESSAGES/*.po; do msgfmt --check --output-file "${po%.po}.mo" "$po"; done
# collectstatic only needs settings that load: a throwaway key pair made here and never stored in the image.
RUN DEBUG=false \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --no-input --verbosity 0

USER vmlab
ENV BIND=0.0.0.0:8000
EXPOSE 8000
# web: migrations and schedules first (safe to repeat), then the server as PID 1 so that it receives SIGTERM;
# worker: `manage.py qcluster` as PID 1, which finishes its task on SIGTERM.
ENTRYPOINT ["scripts/container.sh"]
CMD ["web"]
