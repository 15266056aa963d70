from django.core.management.base import BaseCommand, CommandError

from machines.rotation import encrypted_fields_by_model, rotate_model


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. "
        "Safe to re-run: rows already under the first key are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        failed = []
        for model, field_names in encrypted_fields_by_model().items():
            report = rotate_model(model, field_names, batch_size=batch_size)
            self.stdout.write(
                f"{report.model}: {report.rows_rewritten} of {report.rows_seen} rows rewritten "
                f"in {report.batches} batch(es)."
            )
            failed += [f"{report.model} #{pk}" for pk in report.undecryptable]
        if failed:
            shown = ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else "")
            raise CommandError(
                f"{len(failed)} row(s) could not be decrypted by any key and were left unchanged: {shown}. "
                "Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run the command again."
            )
        self.stdout.write(self.style.SUCCESS("Every secret is now encrypted with the first key."))
