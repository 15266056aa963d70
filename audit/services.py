"""Writing the audit trail. Callers pass facts, never secret values: details are for names and flags."""

import getpass

from django.db import models
from django.utils.translation import gettext, gettext_noop

from audit.context import AuditContext
from audit.models import Action, AuditEvent

# Keys whose values would be secrets; refused so that a careless caller cannot leak one into the trail.
_FORBIDDEN_DETAIL_KEYS = frozenset({"password", "ssh_key", "secret", "token", "new_password", "new_ssh_key"})
NO_CONTEXT = AuditContext()
BATCH_SIZE = 500


def audit_record(
    *,
    action: Action,
    actor=None,
    target: models.Model | None = None,
    context: AuditContext | None = None,
    details: dict | None = None,
    operator: str = "",
) -> AuditEvent:
    """One row of the trail. `operator` names who ran a command, where there is no user account.

    A change made in the Django admin (context.via) says so in its details.
    """
    event = _event(action=action, actor=actor, target=target, context=context, details=details, operator=operator)
    event.save()
    return event


def audit_record_many(
    *, action: Action, actor, targets: list[tuple[models.Model, dict]], context: AuditContext | None = None
) -> list[AuditEvent]:
    """One row per (target, details), as audit_record writes each, in one INSERT per batch: for services that make
    the same change to many objects at once (machines.services.vms_create_many)."""
    events = [
        _event(action=action, actor=actor, target=target, context=context, details=details)
        for target, details in targets
    ]
    return AuditEvent.objects.bulk_create(events, batch_size=BATCH_SIZE)


def _event(*, action, actor, target, context, details, operator="") -> AuditEvent:
    context = context or NO_CONTEXT
    details = _checked(details or {})
    if context.via:
        details = {**details, "via": context.via}
    return AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None else operator[:150],
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        ip=context.ip,
        user_agent=context.user_agent,
        details=details,
    )


# Actors that are not accounts: stored in English whatever the language of the moment, shown translated.
SYSTEM_ACTORS = {"ldap": gettext_noop("LDAP directory"), "oidc": gettext_noop("OpenID Connect provider")}


def actor_shown(label: str) -> str:
    """An audit row's actor as a page shows it: a system actor in the reader's language, a username as it is."""
    return gettext(label) if label in SYSTEM_ACTORS.values() else label


def command_operator() -> str:
    """Who ran a management command, as the operating system knows them: `operator` of its audit rows."""
    try:
        return f"{getpass.getuser()} (manage.py)"
    except (KeyError, OSError):  # no name for this uid, e.g. in a container
        return "manage.py"


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
