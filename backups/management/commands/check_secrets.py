from django.core.management.base import BaseCommand, CommandError

from machines.rotation import census_lines, dry_pass, key_labels, secret_totals, undecryptable_rows


class Command(BaseCommand):
    help = (
        "Decrypt every stored secret with FIELD_ENCRYPTION_KEYS and write nothing: per model, the rows and secrets "
        "each key reads and the rows no key reads. Run it after a key change or a restore."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read at a time (default 500).")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        censuses = dry_pass(batch_size)
        labels = key_labels()
        for census in censuses:
            self.stdout.write("\n".join(census_lines(census, labels)))
        secrets, unreadable = secret_totals(censuses)
        failed = undecryptable_rows(censuses)
        if failed:
            shown = ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else "")
            raise CommandError(
                f"{unreadable} of {secrets} secrets, in {len(failed)} row(s), cannot be decrypted by any configured "
                f"key: {shown}. Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run check_secrets again."
            )
        self.stdout.write(self.style.SUCCESS(f"All {secrets} secrets can be decrypted with the configured keys."))
