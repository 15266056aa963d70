from functools import wraps

from django.http import Http404


def page_for(right: str):
    """A page (without an object id) only users with the User property `right` may open.

    Everyone else gets 404, as for any object they may not see: PRODUCT.md §3 says never 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not getattr(request.user, right):
                raise Http404(f"This page needs {right}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
