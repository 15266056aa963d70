"""The audit trail in the portal: every event, newest first, for admins (PRODUCT.md §4)."""

from dataclasses import dataclass

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import User
from audit.forms import AuditFilterForm, target_type_label
from audit.models import AuditEvent
from machines.models import VirtualMachine
from vmlab.access import page_for
from vmlab.pagination import paginate

PER_PAGE = 50

# Target types that have a portal page: (model, URL name of its page).
TARGET_PAGES = {
    "accounts.user": (User, "accounts:user_detail"),
    "machines.virtualmachine": (VirtualMachine, "machines:detail"),
}


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    target_type: str
    target_url: str | None
    details: list[tuple[str, str]]

    @property
    def actor_deleted(self) -> bool:
        """The actor's account is gone: the row keeps only the name it had."""
        return self.event.actor_id is None and bool(self.event.actor_label)


def _openable_targets(viewer, events) -> set[tuple[str, str]]:
    """(type, id) of the targets on this page that still exist and `viewer` may open: one query per type."""
    openable = set()
    for target_type, (model, _url_name) in TARGET_PAGES.items():
        ids = {event.target_id for event in events if event.target_type == target_type and event.target_id.isdigit()}
        if ids:
            found = model.objects.visible_to(viewer).filter(pk__in=ids).order_by().values_list("pk", flat=True)
            openable.update((target_type, str(pk)) for pk in found)
    return openable


def _shown(value) -> str:
    """A details value as people read it: lists joined, yes/no, "—" for none."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _rows(viewer, events) -> list[EventRow]:
    openable = _openable_targets(viewer, events)
    rows = []
    for event in events:
        key = (event.target_type, event.target_id)
        url = reverse(TARGET_PAGES[event.target_type][1], args=[event.target_id]) if key in openable else None
        details = sorted((str(name), _shown(value)) for name, value in (event.details or {}).items())
        rows.append(EventRow(event, target_type_label(event.target_type), url, details))
    return rows


@require_GET
@page_for("can_view_audit")
def event_list(request):
    filters = AuditFilterForm(request.GET)
    page_obj, rows = None, []
    if filters.is_valid():
        page_obj = paginate(request, filters.filter(AuditEvent.objects.all()), per_page=PER_PAGE)
        rows = _rows(request.user, list(page_obj.object_list))
    return render(request, "audit/event_list.html", {"filters": filters, "page_obj": page_obj, "rows": rows})
