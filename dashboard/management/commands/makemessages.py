"""`manage.py makemessages -l it`: Django's, knowing which folders of this project hold no strings of its own
(the virtualenv, collected static files, vendored libraries, tests, benchmarks and the browser tests), and noting
each string's file but not its line, so that the catalogues change only when the strings do."""

from django.core.management.commands import makemessages

NOT_OURS = ["staticfiles", "static/vendor", "node_modules", "bench", "e2e", "*/tests", "*/migrations", "locale"]


class Command(makemessages.Command):
    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *NOT_OURS]
        if options.get("add_location") is None:
            options["add_location"] = "file"
        return super().handle(*args, **options)
