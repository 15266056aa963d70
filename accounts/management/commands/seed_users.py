import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.seeding import SeedFileError, parse_seed_file, seed_users


class Command(BaseCommand):
    help = "Create the lab's first users from a YAML file; existing users are never changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            default=str(settings.BASE_DIR / "fixtures" / "first_users.yaml"),
            help="YAML file with a 'users' list (default: fixtures/first_users.yaml).",
        )
        parser.add_argument(
            "--password",
            help="Password for every created user (default: $VMLAB_SEED_PASSWORD, else a random one each).",
        )

    def handle(self, *args, file, password, **options):
        password = password or os.environ.get("VMLAB_SEED_PASSWORD") or None
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        except UnicodeDecodeError as error:
            raise CommandError(f"Cannot read {file}: save it as UTF-8 text ({error}).") from None
        try:
            result = seed_users(parse_seed_file(text), password=password)
        except SeedFileError as error:
            raise CommandError(f"{file}: {str(error).rstrip('.')}. Nothing was written.") from None

        for user, generated in result.created:
            line = f"created {user.username} ({user.role})"
            if generated:
                line += f"  password: {generated}"
            self.stdout.write(self.style.SUCCESS(line))
        for username in result.existing:
            self.stdout.write(f"exists  {username} (left unchanged)")
        summary = f"{len(result.created)} created, {len(result.existing)} already existed."
        if any(generated for _user, generated in result.created):
            summary += " Generated passwords are shown once: note them now."
        self.stdout.write(summary)
