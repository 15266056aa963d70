"""The user pages and the waiting list (PRODUCT.md §3), for managers and admins: the services decide each change."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from access import rights
from access.checks import requires
from access.roles import Role
from accounts.models import User
from audit.context import for_request
from connect.status import with_status
from machines.models import VirtualMachine
from people import services
from people.forms import AccessEndForm, RoleForm, UserFilterForm
from vmlab.core.dates import moment
from vmlab.core.pagination import paginate
from vmlab.core.redirects import safe_next
from vmlab.core.rows import PkUrl

T = TypeVar("T")

VMS_PER_PAGE = 10


def _visible_user(request, pk) -> User:
    return get_object_or_404(User.objects.visible_to(request.user), pk=pk)


def _back(request, user):
    return redirect(safe_next(request, reverse("people:user_detail", args=[user.pk])))


def _chosen_role(request) -> str | None:
    form = RoleForm(request.POST, roles=rights.grantable_roles(request.user))
    if form.is_valid():
        return form.cleaned_data["role"]
    messages.error(request, _("Choose one of the roles offered."))
    return None


@require_safe
@requires(rights.MANAGE_USERS)
def user_list(request):
    filters = UserFilterForm(request.GET)
    users = filters.filter(User.objects.visible_to(request.user).order_by("username"))
    query = (filters.cleaned_data.get("q") or "").strip()
    if query:
        users = users.search(query)
    # Counted as plain users; only the page's rows are read, with their VMs counted.
    page_obj = paginate(request, users)
    page_obj.object_list = page_obj.object_list.annotate(vm_count=Count("owned_vms")).values_list(
        *USER_ROW_FIELDS, named=True
    )
    return render(
        request,
        "people/user_list.html",
        {"filters": filters, "query": query, "page_obj": page_obj, "rows": _user_rows(page_obj.object_list)},
    )


USER_ROW_FIELDS = (
    *("pk", "username", "first_name", "last_name", "email", "role", "is_active", "access_expires_at", "vm_count"),
)


def _user_rows(users) -> list[dict]:
    """One dict per user with what their row in the user list shows, each value computed once."""
    detail_url = PkUrl(User.detail_url_name)
    role_labels = {value: str(label) for value, label in Role.choices}  # translated once, not once per row
    until_text = _("until %(until)s")
    now = timezone.now()
    return [
        {
            "url": detail_url(person.pk),
            "username": person.username,
            # As User.get_full_name() puts it.
            "full_name": f"{person.first_name} {person.last_name}".strip() or "—",
            "email": person.email,
            "role": role_labels.get(person.role, person.role),
            "is_active": person.is_active,
            # For display, by this process's clock (access itself is decided in SQL, access.rights).
            "access_ended": person.access_expires_at is not None and person.access_expires_at <= now,
            "access_until": until_text % {"until": moment(expires)} if (expires := person.access_expires_at) else "",
            "vm_count": person.vm_count,
        }
        for person in users
    ]


@require_safe
def user_detail(request, pk):
    user = _visible_user(request, pk)
    actions = services.user_actions_for(request.user, user)
    # Only what the viewer may open (visible_to), like everywhere else; the rest is counted, not shown.
    vms = VirtualMachine.objects.visible_to(request.user)
    owned = paginate(request, vms.owned_by(user), per_page=VMS_PER_PAGE, param="owned_page", anchor="owned")
    assigned = paginate(
        request, vms.assigned_to_user(user), per_page=VMS_PER_PAGE, param="assigned_page", anchor="assigned"
    )
    for page in (owned, assigned):  # counted as plain VMs; the rows of the page read as the table shows them
        page.object_list = with_status(page.object_list)
    all_vms = VirtualMachine.objects.all()
    return render(
        request,
        "people/user_detail.html",
        {
            "person": user,
            "actions": actions,
            "role_form": RoleForm(roles=actions.roles, initial={"role": user.role}, auto_id="role_%s"),
            "approve_form": RoleForm(roles=actions.approve_roles, auto_id="approve_%s"),
            "access_end_form": AccessEndForm(initial={"access_expires_at": user.access_expires_at}),
            "owned_vms": owned,
            "hidden_owned_count": all_vms.owned_by(user).count() - owned.paginator.count,
            "assigned_vms": assigned,
            "hidden_assigned_count": all_vms.assigned_to_user(user).count() - assigned.paginator.count,
        },
    )


def _apply(request, change: Callable[[], T], success: Callable[[T], str]) -> bool:
    """Run a service call: its refusal (PermissionDenied) becomes an error message, its result a success one."""
    try:
        result = change()
    except PermissionDenied as refusal:
        messages.error(request, str(refusal))
        return False
    messages.success(request, success(result))
    return True


@require_POST
def user_set_role(request, pk):
    user = _visible_user(request, pk)
    role = _chosen_role(request)
    if role is not None:
        _apply(
            request,
            lambda: services.user_set_role(user=user, role=role, actor=request.user, context=for_request(request)),
            lambda _user: _("%(user)s is now %(role)s.") % {"user": user, "role": Role(role).label},
        )
    return _back(request, user)


@require_POST
def user_disable(request, pk):
    user = _visible_user(request, pk)
    _apply(
        request,
        lambda: services.user_disable(user=user, actor=request.user, context=for_request(request)),
        lambda shared: (
            ngettext(
                "%(user)s is disabled; %(count)d private VM of theirs became shared.",
                "%(user)s is disabled; %(count)d private VMs of theirs became shared.",
                shared,
            )
            % {"user": user, "count": shared}
        ),
    )
    return _back(request, user)


@require_POST
def user_set_access_end(request, pk):
    user = _visible_user(request, pk)
    form = AccessEndForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return _back(request, user)
    expires_at = form.cleaned_data["access_expires_at"]
    try:
        services.user_set_access_expiry(
            user=user, actor=request.user, expires_at=expires_at, context=for_request(request)
        )
    except (PermissionDenied, ValidationError) as refusal:
        messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))
    else:
        if expires_at is None:
            messages.success(request, _("The access of %(user)s no longer ends.") % {"user": user})
        else:
            until = date_format(timezone.localtime(expires_at), "j F Y, H:i")
            messages.success(request, _("The access of %(user)s ends %(until)s.") % {"user": user, "until": until})
    return _back(request, user)


@require_POST
def user_enable(request, pk):
    user = _visible_user(request, pk)
    _apply(
        request,
        lambda: services.user_enable(user=user, actor=request.user, context=for_request(request)),
        lambda _user: _("%(user)s is enabled and can log in again.") % {"user": user},
    )
    return _back(request, user)


@require_http_methods(["GET", "POST"])
def user_delete(request, pk):
    user = get_object_or_404(User.objects.deletable_by(request.user), pk=pk)
    if request.method != "POST":
        counts = services.user_deletion_counts(user=user)
        return render(request, "people/user_confirm_delete.html", {"person": user, "counts": counts})
    deleted = _apply(
        request,
        lambda: services.user_delete(user=user, actor=request.user, context=for_request(request)),
        lambda counts: (
            _("User %(user)s was deleted with %(vms)s and %(bookmarks)s.")
            % {
                "user": user.username,
                "vms": ngettext("%(count)d VM(s)", "%(count)d VM(s)", counts["vms"]) % {"count": counts["vms"]},
                "bookmarks": ngettext("%(count)d bookmark(s)", "%(count)d bookmark(s)", counts["bookmarks"])
                % {"count": counts["bookmarks"]},
            }
        ),
    )
    return redirect("people:user_list") if deleted else _back(request, user)


@require_safe
@requires(rights.MANAGE_USERS)
def waiting_list(request):
    newcomers = User.objects.visible_to(request.user).awaiting_approval().order_by("date_joined", "pk")
    roles = rights.grantable_roles(request.user)
    return render(
        request,
        "people/waiting_list.html",
        {
            "page_obj": paginate(request, newcomers),
            "role_choices": [(role, Role(role).label) for role in roles],
            "can_deny": rights.REMOVE_USERS.granted_to(request.user),
        },
    )


@require_POST
def user_approve(request, pk):
    user = _visible_user(request, pk)
    role = _chosen_role(request)
    if role is not None:
        _apply(
            request,
            lambda: services.user_approve(user=user, role=role, actor=request.user, context=for_request(request)),
            lambda _user: _("%(user)s is approved as %(role)s.") % {"user": user, "role": Role(role).label},
        )
    return redirect(safe_next(request, reverse("people:waiting_list")))


@require_POST
def user_deny(request, pk):
    user = _visible_user(request, pk)
    _apply(
        request,
        lambda: services.user_deny(user=user, actor=request.user, context=for_request(request)),
        lambda _none: _("The request of %(user)s was denied and the account deleted.") % {"user": user},
    )
    return redirect(safe_next(request, reverse("people:waiting_list")))
