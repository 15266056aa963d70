"""Every page of the portal, read from the URL configuration itself (so a new page cannot be left out of a sweep)."""

from django.urls import URLPattern, get_resolver

# The API answers in JSON (401, not a redirect to the login page): its own matrix is api/tests/test_access_matrix.py.
NOT_PAGES = {"admin", "api"}


def every_portal_page():
    """(name, kwargs) for every named URL of the portal, found in the URL configuration itself: every namespace but
    the Django admin's and the API's, and the names outside any namespace."""
    resolver = get_resolver()
    pages = [(name, {}) for name in resolver.reverse_dict if isinstance(name, str)]  # the dashboard
    for namespace, (_prefix, namespace_resolver) in resolver.namespace_dict.items():
        if namespace in NOT_PAGES:
            continue
        for pattern in namespace_resolver.url_patterns:
            assert isinstance(pattern, URLPattern)
            kwargs = {name: 1 for name in pattern.pattern.converters}
            if "uidb64" in str(pattern.pattern):
                kwargs = {"uidb64": "MQ", "token": "set-password"}
            pages.append((f"{namespace}:{pattern.name}", kwargs))
    return pages
