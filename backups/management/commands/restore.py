from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backups.archive import BackupError
from backups.services import backup_restore
from machines.rotation import census_lines, key_labels, undecryptable_rows
from vmlab.core.rows import first_of


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Restore a backup made by `manage.py backup` into an empty database: check its SHA-256, load it, "
            "migrate it forward if it is older than this code, then count its rows and decrypt every secret in a "
            "dry pass."
        )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("The backup (.tar); its .sha256 file must be beside it."))
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Replace a database that is not empty; what it holds is backed up into BACKUP_DIR first."),
        )

    def handle(self, *args, file, force, **options):
        try:
            result = backup_restore(path=Path(file), force=force, log=self.stdout.write)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = result.manifest
        self.stdout.write(
            _("Rows per model, each as many as when the backup was made (%(rows)d in all):") % {"rows": manifest.rows}
        )
        for model, rows in result.rows.items():
            self.stdout.write(f"  {model}: {rows}")
        if result.migrated:
            message = ngettext(
                "Migrated forward: %(count)d migration(s) newer than the backup (%(names)s).",
                "Migrated forward: %(count)d migration(s) newer than the backup (%(names)s).",
                len(result.migrated),
            )
            self.stdout.write(message % {"count": len(result.migrated), "names": ", ".join(result.migrated)})
        self.stdout.write(
            _("Secrets, each decrypted with the configured FIELD_ENCRYPTION_KEYS in a dry pass that writes nothing:")
        )
        labels = key_labels()
        for census in result.censuses:
            self.stdout.write("\n".join(census_lines(census, labels)))
        if result.unreadable_secrets:
            rows = undecryptable_rows(result.censuses)
            message = ngettext(
                "Restored, but %(unreadable)d of %(secrets)d secrets (in %(count)d rows: %(rows)s) cannot be decrypted "
                "with the configured FIELD_ENCRYPTION_KEYS. The restored data was left as it is. Set "
                "FIELD_ENCRYPTION_KEYS to the keys the backup was made with (sha256 %(keys)s), then run "
                "`manage.py check_secrets`.",
                "Restored, but %(unreadable)d of %(secrets)d secrets (in %(count)d rows: %(rows)s) cannot be decrypted "
                "with the configured FIELD_ENCRYPTION_KEYS. The restored data was left as it is. Set "
                "FIELD_ENCRYPTION_KEYS to the keys the backup was made with (sha256 %(keys)s), then run "
                "`manage.py check_secrets`.",
                result.unreadable_secrets,
            )
            raise CommandError(
                message
                % {
                    "unreadable": result.unreadable_secrets,
                    "secrets": result.secrets,
                    "count": len(rows),
                    "rows": first_of(rows, 5),
                    "keys": ", ".join(manifest.keys),
                }
            )
        done = _("Restore complete and verified: %(rows)d rows, %(secrets)d of %(secrets)d secrets readable.")
        self.stdout.write(self.style.SUCCESS(done % {"rows": manifest.rows, "secrets": result.secrets}))
