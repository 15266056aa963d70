from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups.archive import BackupError
from backups.services import backup_restore
from machines.rotation import census_lines, key_labels, undecryptable_rows


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into an empty database: check its SHA-256, load it, migrate it "
        "forward if it is older than this code, then count its rows and decrypt every secret in a dry pass."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup (.tar); its .sha256 file must be beside it.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that is not empty; what it holds is backed up into BACKUP_DIR first.",
        )

    def handle(self, *args, file, force, **options):
        try:
            result = backup_restore(path=Path(file), force=force, log=self.stdout.write)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = result.manifest
        self.stdout.write(f"Rows per model, each as many as when the backup was made ({manifest.rows} in all):")
        for model, rows in result.rows.items():
            self.stdout.write(f"  {model}: {rows}")
        if result.migrated:
            self.stdout.write(
                f"Migrated forward: {len(result.migrated)} migration(s) newer than the backup "
                f"({', '.join(result.migrated)})."
            )
        self.stdout.write(
            "Secrets, each decrypted with the configured FIELD_ENCRYPTION_KEYS in a dry pass that writes nothing:"
        )
        labels = key_labels()
        for census in result.censuses:
            self.stdout.write("\n".join(census_lines(census, labels)))
        if result.unreadable_secrets:
            rows = undecryptable_rows(result.censuses)
            raise CommandError(
                f"Restored, but {result.unreadable_secrets} of {result.secrets} secrets (in {len(rows)} rows: "
                f"{', '.join(rows[:5])}{', …' if len(rows) > 5 else ''}) cannot be decrypted with the configured "
                "FIELD_ENCRYPTION_KEYS. The restored data was left as it is. Set FIELD_ENCRYPTION_KEYS to the keys "
                f"the backup was made with (sha256 {', '.join(manifest.keys)}), then run `manage.py check_secrets`."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restore complete and verified: {manifest.rows} rows, {result.secrets} of {result.secrets} secrets "
                "readable."
            )
        )
