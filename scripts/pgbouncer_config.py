"""Write a PgBouncer configuration in front of a PostgreSQL DATABASE_URL and print the URL Django should use instead.

    pgbouncer_config.py DATABASE_URL DIRECTORY --listen HOST:PORT [--client-host HOST] [--pool-size N]

Used by scripts/serve_prod.sh (`make serve-prod`) and by the pgbouncer service of compose.yaml. DIRECTORY gets
pgbouncer.ini and userlist.txt (mode 600: the list holds the password, if the URL has one). Transaction pooling: a
server connection is lent to a client for one transaction at a time, so many short-lived client connections (one
per request under ASGI) share a few long-lived server connections; Django then needs DATABASE_POOLING=pgbouncer
(no server-side cursors, which would outlive the transaction). The server connections use the URL's user and, when
it has one, its password, which clients must then give too (SCRAM); without a password (a local cluster that trusts
loopback) clients are trusted as well, which is refused for anything but a loopback address.
"""

import argparse
import ipaddress
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "psql"}


def arguments():
    parser = argparse.ArgumentParser(description="PgBouncer (transaction pooling) in front of a PostgreSQL URL.")
    parser.add_argument("database_url", help="the PostgreSQL server's URL, as DATABASE_URL would give it")
    parser.add_argument("directory", type=Path, help="where pgbouncer.ini and userlist.txt are written")
    parser.add_argument("--listen", required=True, help="HOST:PORT PgBouncer listens on")
    parser.add_argument("--client-host", help="the host name clients use (default: the listen address)")
    parser.add_argument("--pool-size", type=int, default=20, help="server connections per database (default 20)")
    return parser.parse_args()


def quoted(value: str) -> str:
    """A value in userlist.txt: in double quotes, a double quote doubled."""
    return '"' + value.replace('"', '""') + '"'


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configuration(url, *, auth_file: Path, listen_host: str, listen_port: int, pool_size: int) -> str:
    database = unquote(url.path.lstrip("/"))
    password = unquote(url.password or "")
    server = f"host={url.hostname or '127.0.0.1'} port={url.port or 5432} dbname={database}"
    return "\n".join(
        [
            "; Written by scripts/pgbouncer_config.py: regenerated at every start, do not edit.",
            "[databases]",
            # TimeZone=UTC on the server connections, as Django wants it: no SET TIME ZONE per client connection.
            f"{database} = {server} timezone=UTC",
            "",
            "[pgbouncer]",
            f"listen_addr = {listen_host}",
            f"listen_port = {listen_port}",
            "unix_socket_dir =",
            f"auth_type = {'scram-sha-256' if password else 'trust'}",
            f"auth_file = {auth_file}",
            "pool_mode = transaction",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 1000",
            # One client connection per request: logging each would drown the access log.
            "log_connections = 0",
            "log_disconnections = 0",
            "log_stats = 0",
            "",
        ]
    )


def main() -> int:
    options = arguments()
    url = urlsplit(options.database_url)
    if url.scheme not in POSTGRES_SCHEMES:
        return f"PgBouncer pools PostgreSQL connections: {url.scheme}:// is not a PostgreSQL URL."
    if not url.username or not url.path.strip("/"):
        return "The PostgreSQL URL must name a user and a database, e.g. postgres://postgres@127.0.0.1:5432/vmlab."
    listen_host, _, port = options.listen.rpartition(":")
    listen_host = listen_host.strip("[]")
    if not port.isdigit() or not listen_host:
        return f"--listen must be HOST:PORT, not {options.listen!r}."
    if not url.password and not is_loopback(listen_host):
        return (
            f"Refusing to let anyone reach the database through {listen_host} without a password: "
            "give the URL a password, or listen on 127.0.0.1."
        )
    options.directory.mkdir(parents=True, exist_ok=True)
    directory = options.directory.resolve()
    user, password = unquote(url.username), unquote(url.password or "")
    for name, text in (
        ("userlist.txt", f"{quoted(user)} {quoted(password)}\n"),
        (
            "pgbouncer.ini",
            configuration(
                url,
                auth_file=directory / "userlist.txt",
                listen_host=listen_host,
                listen_port=int(port),
                pool_size=options.pool_size,
            ),
        ),
    ):
        path = directory / name
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(text)

    client_host = options.client_host or listen_host
    if ":" in client_host:
        client_host = f"[{client_host}]"
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    print(f"{url.scheme}://{credentials}@{client_host}:{port}/{quote(unquote(url.path.lstrip('/')), safe='')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
