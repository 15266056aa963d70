from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from machines.rotation import (
    audited_rotation,
    census_lines,
    dry_pass,
    encrypted_fields_by_model,
    key_labels,
    rotate_model,
    undecryptable_rows,
)
from vmlab.core.rows import first_of


class Command(BaseCommand):
    @property
    def help(self):  # argparse needs a str, not a lazy translation
        return _(
            "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. "
            "Safe to re-run: rows already under the first key are left alone. "
            "With --dry-run, write nothing and count what each key decrypts."
        )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help=_("Rows per transaction (default 500)."))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Write nothing: count, per model, the rows and secrets each key decrypts and those none does."),
        )

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        failed = self.count(batch_size) if dry_run else self.rotate(batch_size)
        if failed:
            shown = first_of(failed, 10, more=" ...")
            message = ngettext(
                "%(count)d row(s) could not be decrypted by any key and were left unchanged: %(rows)s. "
                "Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run the command again.",
                "%(count)d row(s) could not be decrypted by any key and were left unchanged: %(rows)s. "
                "Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run the command again.",
                len(failed),
            )
            raise CommandError(message % {"count": len(failed), "rows": shown})
        if dry_run:
            self.stdout.write(self.style.SUCCESS(_("Dry run: every secret can be decrypted; nothing was written.")))
        else:
            self.stdout.write(self.style.SUCCESS(_("Every secret is now encrypted with the first key.")))

    def rotate(self, batch_size):
        failed = []
        with audited_rotation() as run:
            for model, field_names in encrypted_fields_by_model().items():
                report = rotate_model(model, field_names, batch_size=batch_size, report=run.start(model))
                message = _("%(model)s: %(rewritten)s of %(seen)s rows rewritten in %(batches)s batch(es).")
                self.stdout.write(
                    message
                    % {
                        "model": report.model,
                        "rewritten": report.rows_rewritten,
                        "seen": report.rows_seen,
                        "batches": report.batches,
                    }
                )
                failed += [f"{report.model} #{pk}" for pk in report.undecryptable]
        return failed

    def count(self, batch_size):
        censuses = dry_pass(batch_size)
        labels = key_labels()
        for census in censuses:
            self.stdout.write("\n".join(census_lines(census, labels)))
        return undecryptable_rows(censuses)
