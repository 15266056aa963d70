from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from machines.rotation import census_lines, dry_pass, key_labels, secret_totals, undecryptable_rows
from vmlab.core.rows import first_of


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Decrypt every stored secret with FIELD_ENCRYPTION_KEYS and write nothing: per model, the rows and secrets "
            "each key reads and the rows no key reads. Run it after a key change or a restore."
        )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help=_("Rows read at a time (default 500)."))

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        censuses = dry_pass(batch_size)
        labels = key_labels()
        for census in censuses:
            self.stdout.write("\n".join(census_lines(census, labels)))
        secrets, unreadable = secret_totals(censuses)
        failed = undecryptable_rows(censuses)
        if failed:
            shown = first_of(failed, 10, more=" ...")
            message = ngettext(
                "%(unreadable)d of %(secrets)d secrets, in %(rows)d row(s), cannot be decrypted by any configured "
                "key: %(shown)s. Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run check_secrets again.",
                "%(unreadable)d of %(secrets)d secrets, in %(rows)d row(s), cannot be decrypted by any configured "
                "key: %(shown)s. Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run check_secrets again.",
                unreadable,
            )
            raise CommandError(
                message % {"unreadable": unreadable, "secrets": secrets, "rows": len(failed), "shown": shown}
            )
        done = _("All %(secrets)d secrets can be decrypted with the configured keys.") % {"secrets": secrets}
        self.stdout.write(self.style.SUCCESS(done))
