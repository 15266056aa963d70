from access import rights
from access_requests.models import AccessRequest


def portal(request):
    """What the navigation bar shows the user, decided by their rights, not in templates.

    One query at most beyond the user's own: the number of requests waiting for a manager or admin.
    """
    nav = getattr(request, "_nav", None)
    if nav is None:
        nav = request._nav = _navigation(getattr(request, "user", None))  # once per request, however many renders
    return {"nav": nav}


def _navigation(user) -> dict:
    if user is None or not rights.USE_PORTAL.granted_to(user):
        return {}
    decides = rights.ASSIGN_VMS.granted_to(user)
    return {
        "portal": True,
        "vms": rights.OWN_VMS.granted_to(user),
        "bookmarks": rights.KEEP_BOOKMARKS.granted_to(user),
        "requests": rights.REQUEST_VMS.granted_to(user),
        "queue": decides,
        "queue_count": AccessRequest.objects.queue_for(user).count() if decides else 0,
        "users": rights.MANAGE_USERS.granted_to(user),
        "audit": rights.VIEW_AUDIT.granted_to(user),
        "workers": rights.VIEW_WORKER_HEALTH.granted_to(user),
        "admin": rights.ADMINISTER.granted_to(user),
    }
