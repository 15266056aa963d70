"""The one way to check access: a user against a right (pages), an object against a queryset verb (everything else).

A queryset verb is a method such as `VirtualMachine.objects.editable_by`: given a user, the queryset of the
objects that user may touch that way. Views fetch with `get_object_or_404(verb(user), pk=pk)`; services,
which get objects from their callers, check them again with `require`. Whatever a user may not reach is a
404 in the portal, never a 403 (PRODUCT.md §3).
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from access.rights import Right

QuerysetVerb = Callable[..., QuerySet]


def allowed(verb: QuerysetVerb, user, obj: Model) -> bool:
    """Whether `obj` is among the objects `verb(user)` gives. One query."""
    return obj.pk is not None and verb(user).filter(pk=obj.pk).exists()


def require(verb: QuerysetVerb, user, obj: Model, message: str) -> None:
    """Raise PermissionDenied(message) unless `obj` is among the objects `verb(user)` gives."""
    if not allowed(verb, user, obj):
        raise PermissionDenied(message)


def require_right(right: Right, user, message: str) -> None:
    if not right.granted_to(user):
        raise PermissionDenied(message)


def requires(right: Right):
    """A page (without an object id) that only holders of `right` may open; everyone else gets 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not right.granted_to(request.user):
                raise Http404(f"This page needs the right to {right}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
