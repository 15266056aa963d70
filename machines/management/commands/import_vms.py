import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.services import command_operator
from machines import services
from machines.imports import (
    CREATE,
    ERROR,
    MATCH_ADDRESS,
    MATCHES,
    SKIP,
    UNCHANGED,
    UPDATE,
    ImportReport,
    vms_import_apply,
    vms_import_preview,
)
from machines.vm_files.columns import FORMATS, format_for_filename
from machines.vm_files.reading import FILE_TOO_LARGE
from vmlab.core.sizes import file_size

COLUMN_WIDTH = 32  # longer values are cut in the table; the details below a row are whole
MAX_ERRORS_SHOWN = 20  # in the error that ends the command; the table above has them all


class Command(BaseCommand):
    @property
    def help(self):  # argparse needs a str, not a lazy translation
        return _(
            "Import VMs from FILE (CSV, JSON, YAML or an OpenSSH client config) into the VMs of --owner, with that "
            "user's rights, as the portal's import does: the preview of every row is printed, then everything is "
            "written in one transaction, or nothing if a row has an error (exit status 1). --dry-run prints the "
            "preview only."
        )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("The file to import."))
        parser.add_argument("--owner", required=True, help=_("Username of the VMs' owner, who makes the changes."))
        parser.add_argument(
            "--format",
            choices=sorted(FORMATS),
            help=_("The file's format (default: from its name: .csv, .json, ...)."),
        )
        parser.add_argument(
            "--match",
            choices=sorted(MATCHES),
            default=MATCH_ADDRESS,
            help=_("A row is the VM with the same host, port and username (address, the default) or name."),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Print what the import would do; write nothing."))

    def handle(self, *args, file, owner, format, match, dry_run, **options):
        user = get_user_model().objects.filter(username__iexact=owner).first()
        if user is None:
            raise CommandError(_("There is no user named %(name)s.") % {"name": owner})
        try:
            services.check_owner(user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        file_format = format or format_for_filename(file)
        if file_format is None:
            raise CommandError(
                _("Cannot tell the format of %(file)s from its name: give --format (%(formats)s).")
                % {"file": file, "formats": ", ".join(FORMATS)}
            )
        data = self.read(file)
        arguments = {"actor": user, "data": data, "file_format": file_format, "match": match}
        try:
            if dry_run:
                report = vms_import_preview(**arguments)
            else:
                report = vms_import_apply(**arguments, operator=command_operator())
        except (ValidationError, PermissionDenied) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from None
        self.print_table(report)
        counts = report.counts
        numbers = {
            "create": counts[CREATE],
            "update": counts[UPDATE],
            "unchanged": counts[UNCHANGED],
            "skip": counts[SKIP],
            "error": counts[ERROR],
        }
        if report.has_errors:
            errors = [
                f"{report.where(row.number)}: {reason}"
                for row in report.rows
                if row.action == ERROR
                for reason in row.reasons
            ]
            shown = "\n".join(errors[:MAX_ERRORS_SHOWN] + (["…"] if len(errors) > MAX_ERRORS_SHOWN else []))
            message = _(
                "%(create)s to create, %(update)s to update, %(unchanged)s unchanged, %(skip)s skipped, "
                "%(error)s with errors: nothing was written. Correct these rows and run it again:\n%(shown)s"
            )
            raise CommandError(message % {**numbers, "shown": shown})
        if dry_run:
            message = _(
                "Dry run: %(create)s to create, %(update)s to update, %(unchanged)s unchanged, %(skip)s skipped, "
                "%(error)s with errors; nothing was written."
            )
            self.stdout.write(message % numbers)
        else:
            message = _(
                "Imported: %(create)s created, %(update)s updated, %(unchanged)s unchanged, %(skip)s skipped, "
                "%(error)s with errors."
            )
            self.stdout.write(self.style.SUCCESS(message % numbers))

    def read(self, path: str) -> bytes:
        try:
            size = os.stat(path).st_size
            if size > settings.MAX_REQUEST_BODY:
                raise CommandError(FILE_TOO_LARGE % {"limit": file_size(settings.MAX_REQUEST_BODY)})
            with open(path, "rb") as file:
                return file.read()
        except OSError as error:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": error}) from None

    def print_table(self, report: ImportReport) -> None:
        header = (report.numbering, "action", "name", "connection", "shared", "assigned_to", "owner", "secrets")
        lines = [header]
        details = []
        for row in report.rows:
            secrets = "+".join(
                name for name, given in (("password", row.sets_password), ("key", row.sets_ssh_key)) if given
            )
            connection = f"{row.username}@{row.host}:{row.port}" if row.host else ""
            shared = {True: _("yes"), False: _("no"), None: ""}[row.shared]
            lines.append(
                (str(row.number), row.action, row.name, connection, shared, row.assigned_to, row.owner, secrets)
            )
            changes = [_("changes: %(fields)s") % {"fields": ", ".join(row.changes)}] if row.changes else []
            details.append([*changes, *row.reasons, *row.notes])
        cut = [
            [value if len(value) <= COLUMN_WIDTH else value[: COLUMN_WIDTH - 1] + "…" for value in line]
            for line in lines
        ]
        widths = [max(len(line[column]) for line in cut) for column in range(len(header))]
        for number, line in enumerate(cut):
            self.stdout.write("  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip())
            for detail in details[number - 1] if number else ():
                self.stdout.write(f"    {detail}")
        for note in report.notes:
            self.stdout.write(_("note: %(note)s") % {"note": note})


def _cut(value: str) -> str:
    return value if len(value) <= COLUMN_WIDTH else value[: COLUMN_WIDTH - 1] + "…"
