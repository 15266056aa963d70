from access import rights


def portal(request):
    """What the navigation bar shows the user, decided by their rights, not in templates."""
    user = getattr(request, "user", None)
    if user is None or not rights.USE_PORTAL.granted_to(user):
        return {"nav": {}}
    return {
        "nav": {
            "portal": True,
            "vms": rights.OWN_VMS.granted_to(user),
            "bookmarks": rights.KEEP_BOOKMARKS.granted_to(user),
            "users": rights.MANAGE_USERS.granted_to(user),
            "audit": rights.VIEW_AUDIT.granted_to(user),
            "admin": rights.ADMINISTER.granted_to(user),
        }
    }
