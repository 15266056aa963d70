from django.core.management.base import BaseCommand, CommandError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from backups.archive import BackupError, checksum_path
from backups.services import backup_create


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Back up the database into BACKUP_DIR: one file named with the date and the schema, its SHA-256 beside it. "
            "Secrets stay encrypted as stored; the keys are never written."
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help=_("Afterwards, delete all but the N newest backups in BACKUP_DIR."),
        )

    def handle(self, *args, keep, verbosity, **options):
        try:
            result = backup_create(keep=keep)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = result.manifest
        self.stdout.write(
            _("Backup written: %(path)s (%(size)s bytes)")
            % {"path": result.path, "size": number_format(result.size, force_grouping=True)}
        )
        self.stdout.write(_("SHA-256 beside it: %(name)s") % {"name": checksum_path(result.path).name})
        self.stdout.write(
            _("%(rows)d rows in %(models)d models, %(secrets)d secrets (encrypted, as stored); schema %(schema)s.")
            % {
                "rows": manifest.rows,
                "models": len(manifest.tables),
                "secrets": manifest.secret_count,
                "schema": manifest.describe_schema(),
            }
        )
        if verbosity > 1:
            for table in manifest.tables:
                self.stdout.write(f"  {table['model']}: {table['rows']}")
        for path in result.pruned:
            self.stdout.write(
                _("Deleted an older backup (--keep %(keep)d): %(name)s") % {"keep": keep, "name": path.name}
            )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Done. The backup holds no key: keep FIELD_ENCRYPTION_KEYS and SECRET_KEY safe elsewhere, "
                    "never beside it."
                )
            )
        )
