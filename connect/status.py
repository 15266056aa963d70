"""Reading the live status of VMs: what the last probe found (connect.models.Reachability), for tables and pages.

Pages only read stored results: no probe ever runs inside a request. A table gets the status in its own query
(with_status: one LEFT JOIN), so its query count does not grow with its rows.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from connect.models import Reachability, is_check_queued
from connect.probes import ProbeTarget, detail_text
from machines.models import VirtualMachine

STATUS_FIELDS = tuple(
    f"reachability__{name}"
    for name in ("state", "checked_at", "latency_ms", "detail", "server_version", "check_requested_at")
)
NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class Look:
    label: str
    icon: str  # a symbol beside the words, never instead of them: the state reads without colour
    css: str


LOOKS = {
    Reachability.State.UP: Look(gettext_lazy("up"), "✓", "status-up"),
    Reachability.State.HOST_KEY_DIFFERS: Look(gettext_lazy("SSH answering but host key differs"), "⚠", "status-warn"),
    Reachability.State.PORT_CLOSED: Look(gettext_lazy("port closed"), "⊘", "status-down"),
    Reachability.State.UNREACHABLE: Look(gettext_lazy("unreachable"), "✕", "status-down"),
    NOT_CHECKED: Look(gettext_lazy("not checked yet"), "…", "status-unknown"),
}


@dataclass(frozen=True)
class Status:
    vm_id: int
    state: str  # a Reachability.State, or NOT_CHECKED
    checked_at: datetime | None = None
    latency_ms: float | None = None
    detail: str = ""  # in the active language (connect.probes.detail_text)
    server_version: str = ""
    queued: bool = False  # "Check now" was pressed and its probe has not reported yet

    @property
    def look(self) -> Look:
        return LOOKS[self.state]


def with_status(vms):
    """VMs for a table, with their last probe's result in the same query (one LEFT JOIN; read it with
    status_of_row)."""
    return vms.for_table(*STATUS_FIELDS)


def status_of_row(row) -> Status:
    """The last probe result of a table's row (a named tuple of with_status)."""
    state = row.reachability__state
    queued = is_check_queued(row.reachability__check_requested_at, row.reachability__checked_at)
    if not state:
        return Status(row.pk, NOT_CHECKED, queued=queued)
    return Status(
        row.pk,
        state,
        row.reachability__checked_at,
        row.reachability__latency_ms,
        detail_text(row.reachability__detail or ""),
        row.reachability__server_version or "",
        queued=queued,
    )


def status_of(vm: VirtualMachine) -> Status:
    """The VM's last probe result: from with_status's join, or one query for a single VM's page."""
    try:
        found = vm.reachability
    except ObjectDoesNotExist:
        found = None
    if found is None or not found.state:
        return Status(vm.pk, NOT_CHECKED, queued=found is not None and found.check_queued)
    return Status(
        vm.pk,
        found.state,
        found.checked_at,
        found.latency_ms,
        detail_text(found.detail),
        found.server_version,
        queued=found.check_queued,
    )


def probe_targets(*, after: int, limit: int) -> list[ProbeTarget]:
    """The next `limit` VMs to probe, in primary-key order from `after` on: a batch read without any secret."""
    rows = (
        VirtualMachine.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "host", "port", "host_key")[:limit]
    )
    return [ProbeTarget(pk, host, port, host_key) for pk, host, port, host_key in rows]


def status_badge(status: Status) -> str:
    """Words and a symbol (the state reads without colour), the probe's detail as a tooltip, when and how fast.
    Drawn in Python: a table calls it once per row, with no template per row."""
    look = status.look
    title = format_html(' title="{}"', status.detail) if status.detail else ""
    badge = format_html(
        '<span class="status {}"{}><span class="status-icon" aria-hidden="true">{}</span> {}</span>',
        look.css,
        title,
        look.icon,
        look.label,
    )
    if not status.checked_at:
        return badge
    ago = _("%(ago)s ago") % {"ago": timesince(status.checked_at)}
    latency = format_html(" · {}&nbsp;ms", f"{status.latency_ms:.1f}") if status.latency_ms is not None else ""
    return format_html(
        '{} <small class="muted status-when"><time datetime="{}">{}</time>{}</small>',
        badge,
        status.checked_at.isoformat(),
        ago,
        latency,
    )
