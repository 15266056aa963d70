def portal(request):
    """What the navigation bar needs to know about the user, decided once, not in templates."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_approved:
        return {"nav": {}}
    return {
        "nav": {
            "vms": user.can_own_vms,
            "bookmarks": user.can_keep_bookmarks,
            "users": user.can_manage_users,
            "audit": user.can_view_audit,
            "admin": user.is_staff,
        }
    }
