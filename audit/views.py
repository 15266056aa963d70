"""The audit trail in the portal: every event, newest first, for admins (PRODUCT.md §4)."""

from django.apps import apps
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from access import rights
from access.checks import requires
from audit.forms import AuditFilterForm, target_type_label
from audit.models import Action, AuditEvent
from audit.services import actor_shown
from vmlab.core.pagination import paginate
from vmlab.core.rows import PkUrl, shortened

PER_PAGE = 50
USER_AGENT_SHOWN = 40
NOTHING = "—"


def _page_model(target_type: str):
    """The model of a target type if its objects have a portal page (detail_url_name, the URL get_absolute_url
    reverses with the pk alone) and a visible_to verb."""
    try:
        model = apps.get_model(target_type)
    except (LookupError, ValueError):
        return None
    has_page = hasattr(model, "detail_url_name") and hasattr(model._default_manager, "visible_to")
    return model if has_page else None


def _openable_targets(viewer, events) -> dict[tuple[str, str], str]:
    """{(type, id): URL} of the targets on this page that still exist and `viewer` may open: one query per type,
    one reverse per type."""
    openable = {}
    for target_type in {event.target_type for event in events if event.target_type}:
        model = _page_model(target_type)
        ids = {event.target_id for event in events if event.target_type == target_type and event.target_id.isdigit()}
        if model is None or not ids:
            continue
        url = PkUrl(model.detail_url_name)
        for pk in model._default_manager.visible_to(viewer).filter(pk__in=ids).order_by().values_list("pk", flat=True):
            openable[(target_type, str(pk))] = url(pk)
    return openable


def _shown(value) -> str:
    """A details value as people read it: lists joined, yes/no, "—" for none."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return NOTHING
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _rows(viewer, events) -> list[dict]:
    """One dict per event with what its row shows, each value computed once (README, "Benchmarks")."""
    openable = _openable_targets(viewer, events)
    type_labels = {target_type: target_type_label(target_type) for target_type in {e.target_type for e in events}}
    action_labels = {value: str(label) for value, label in Action.choices}  # translated once, not once per row
    rows = []
    for event in events:
        url = openable.get((event.target_type, event.target_id))
        when = timezone.localtime(event.created_at)
        details = sorted((str(name), _shown(value)) for name, value in (event.details or {}).items())
        rows.append(
            {
                "event": event,
                "when_iso": when.isoformat(),
                "when_shown": when.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": actor_shown(event.actor_label) or NOTHING,
                # The actor's account is gone: the row keeps only the name it had.
                "actor_deleted": event.actor_id is None and bool(event.actor_label),
                "action": action_labels.get(event.action, event.action),
                "target_type": type_labels[event.target_type] if event.target_type else "",
                "target_url": url,
                "target_label": event.target_label if url else event.target_label or event.target_id,
                "ip": event.ip or NOTHING,
                "user_agent": event.user_agent,
                "user_agent_shown": shortened(event.user_agent, USER_AGENT_SHOWN),
                # Escaped piece by piece, like any template variable.
                "details": format_html_join(" ", "<code>{}: {}</code>", details),
            }
        )
    return rows


@require_safe
@requires(rights.VIEW_AUDIT)
def event_list(request):
    filters = AuditFilterForm(request.GET)
    page_obj, rows = None, []
    if filters.is_valid():
        page_obj = paginate(request, filters.filter(AuditEvent.objects.all()), per_page=PER_PAGE)
        rows = _rows(request.user, list(page_obj.object_list))
    return render(request, "audit/event_list.html", {"filters": filters, "page_obj": page_obj, "rows": rows})
