"""Create the PostgreSQL database a DATABASE_URL names, if it does not exist yet (`make serve-prod`)."""

import sys
from urllib.parse import unquote, urlsplit

import psycopg2
from psycopg2 import sql

url = urlsplit(sys.argv[1])
if url.scheme not in {"postgres", "postgresql", "pgsql", "psql"}:
    sys.exit(f"make serve-prod runs on PostgreSQL: {url.scheme}:// is not a PostgreSQL URL.")
name = unquote(url.path.lstrip("/"))
try:
    connection = psycopg2.connect(
        host=url.hostname,
        port=url.port or 5432,
        user=unquote(url.username or ""),
        password=unquote(url.password or ""),
        dbname="postgres",
        connect_timeout=5,
    )
except psycopg2.OperationalError as error:
    sys.exit(f"Cannot connect to PostgreSQL at {url.hostname}:{url.port or 5432}: {str(error).strip()}")
connection.autocommit = True
with connection.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Created the PostgreSQL database {name}.")
connection.close()
