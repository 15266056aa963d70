import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.seeding import SeedFileError, parse_seed_file, seed_users


class Command(BaseCommand):
    @property
    def help(self):
        return _("Create the lab's first users from a YAML file; existing users are never changed.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            default=str(settings.BASE_DIR / "fixtures" / "first_users.yaml"),
            help=_("YAML file with a 'users' list (default: fixtures/first_users.yaml)."),
        )
        parser.add_argument(
            "--password",
            help=_("Password for every created user (default: $VMLAB_SEED_PASSWORD, else a random one each)."),
        )

    def handle(self, *args, file, password, **options):
        password = password or os.environ.get("VMLAB_SEED_PASSWORD") or None
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": error}) from None
        except UnicodeDecodeError as error:
            message = _("Cannot read %(file)s: save it as UTF-8 text (%(error)s).")
            raise CommandError(message % {"file": file, "error": error}) from None
        try:
            result = seed_users(parse_seed_file(text), password=password)
        except SeedFileError as error:
            message = _("%(file)s: %(problem)s. Nothing was written.")
            raise CommandError(message % {"file": file, "problem": str(error).rstrip(".")}) from None

        for user, generated in result.created:
            line = _("created %(username)s (%(role)s)") % {"username": user.username, "role": user.role}
            if generated:
                line = _("created %(username)s (%(role)s)  password: %(password)s") % {
                    "username": user.username,
                    "role": user.role,
                    "password": generated,
                }
            self.stdout.write(self.style.SUCCESS(line))
        for username in result.existing:
            self.stdout.write(_("exists  %(username)s (left unchanged)") % {"username": username})
        counts = {"created": len(result.created), "existing": len(result.existing)}
        if any(generated for _user, generated in result.created):
            summary = _(
                "%(created)d created, %(existing)d already existed. Generated passwords are shown once: note them now."
            )
        else:
            summary = _("%(created)d created, %(existing)d already existed.")
        self.stdout.write(summary % counts)
