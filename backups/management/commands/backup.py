from django.core.management.base import BaseCommand, CommandError

from backups.archive import BackupError, checksum_path
from backups.services import backup_create


class Command(BaseCommand):
    help = (
        "Back up the database into BACKUP_DIR: one file named with the date and the schema, its SHA-256 beside it. "
        "Secrets stay encrypted as stored; the keys are never written."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep", type=int, metavar="N", help="Afterwards, delete all but the N newest backups in BACKUP_DIR."
        )

    def handle(self, *args, keep, verbosity, **options):
        try:
            result = backup_create(keep=keep)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = result.manifest
        self.stdout.write(f"Backup written: {result.path} ({result.size:,} bytes)")
        self.stdout.write(f"SHA-256 beside it: {checksum_path(result.path).name}")
        self.stdout.write(
            f"{manifest.rows} rows in {len(manifest.tables)} models, {manifest.secret_count} secrets "
            f"(encrypted, as stored); schema {manifest.describe_schema()}."
        )
        if verbosity > 1:
            for table in manifest.tables:
                self.stdout.write(f"  {table['model']}: {table['rows']}")
        for path in result.pruned:
            self.stdout.write(f"Deleted an older backup (--keep {keep}): {path.name}")
        self.stdout.write(
            self.style.SUCCESS(
                "Done. The backup holds no key: keep FIELD_ENCRYPTION_KEYS and SECRET_KEY safe elsewhere, "
                "never beside it."
            )
        )
