"""Writing the audit trail. Callers pass facts, never secret values: details are for names and flags."""

from django.db import models

from audit.models import Action, AuditEvent
from vmlab.client_ip import client_ip

# Keys whose values would be secrets; refused so that a careless caller cannot leak one into the trail.
_FORBIDDEN_DETAIL_KEYS = frozenset({"password", "ssh_key", "secret", "token", "new_password", "new_ssh_key"})


def audit_record(
    *,
    action: Action,
    actor=None,
    target: models.Model | None = None,
    request=None,
    details: dict | None = None,
    operator: str = "",
) -> AuditEvent:
    """One row of the trail. `operator` names who ran a command, where there is no user account."""
    details = _checked(details or {})
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None else operator[:150],
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else "",
        details=details,
    )


def audit_complete(event: AuditEvent, details: dict) -> None:
    """Replace the details of a row written when something began (a terminal session) once it has ended:
    one row per session, visible while it lasts. The only update the trail allows."""
    AuditEvent.objects.filter(pk=event.pk).update(details=_checked(details))
    event.details = details


def _checked(details: dict) -> dict:
    leaked = _FORBIDDEN_DETAIL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"Audit details must not hold secrets: {sorted(leaked)}")
    return details
