import subprocess
import tarfile

import psycopg2
import pytest
from django.db import connection

from backups import databases
from backups.services import backup_create
from backups.tests.drill import on_postgres

pytestmark = [
    pytest.mark.skipif(not on_postgres(), reason="PostgreSQL's exported snapshots: the PostgreSQL pass"),
    pytest.mark.django_db(transaction=True),
]


def test_the_counts_are_those_of_the_dump_while_the_lab_keeps_writing(settings, tmp_path, monkeypatch):
    """A row committed after the rows are counted, while pg_dump starts, is in neither the counts nor the dump."""
    settings.BACKUP_DIR = tmp_path
    real_create_dump = databases.PgDumpBinaryConnector.create_dump

    def write_then_dump(connector):
        parameters = connection.get_connection_params()
        with psycopg2.connect(**parameters) as other:  # another client of the lab, committing on its own
            other.cursor().execute(
                "INSERT INTO django_content_type (app_label, model) VALUES ('drill', 'written_during_the_dump')"
            )
        other.close()
        return real_create_dump(connector)

    monkeypatch.setattr(databases.PgDumpBinaryConnector, "create_dump", write_then_dump)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_content_type")
        before = cursor.fetchone()[0]

    result = backup_create()

    with tarfile.open(result.path) as tar:
        (tmp_path / "dump").write_bytes(tar.extractfile(result.manifest.dump).read())
    sql = subprocess.run(["pg_restore", "--file=-", str(tmp_path / "dump")], capture_output=True, check=True).stdout
    counted = {table["model"]: table["rows"] for table in result.manifest.tables}
    assert counted["contenttypes.ContentType"] == before
    assert b"written_during_the_dump" not in sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_content_type")
        assert cursor.fetchone()[0] == before + 1
