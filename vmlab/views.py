from dataclasses import dataclass

from django.core.paginator import Page
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from bookmarks.models import Bookmark
from machines.models import VirtualMachine
from vmlab.pagination import paginate
from vmlab.search import search_filter

DASHBOARD_PER_PAGE = 10
VM_SEARCH_FIELDS = ("name", "host", "username", "owner__username", "assigned_to__username")
BOOKMARK_SEARCH_FIELDS = ("name", "link", "tags", "description")


@dataclass
class Section:
    """One list of the dashboard, searched and paged through its own query parameters."""

    key: str
    title: str
    kind: str  # "vms" or "bookmarks": which table the template draws
    page: Page
    query: str
    empty: str

    @property
    def search_param(self):
        return f"{self.key}_q"


def _section(request, key, title, queryset, *, kind, fields, empty):
    query = request.GET.get(f"{key}_q", "").strip()[:200]
    if query:
        queryset = queryset.filter(search_filter(query, fields))
    page = paginate(request, queryset, per_page=DASHBOARD_PER_PAGE, param=f"{key}_page", anchor=key)
    return Section(key=key, title=title, kind=kind, page=page, query=query, empty=empty)


def _vm_section(request, key, title, queryset, empty):
    queryset = queryset.without_secrets().select_related("owner", "assigned_to")
    return _section(request, key, title, queryset, kind="vms", fields=VM_SEARCH_FIELDS, empty=empty)


def dashboard_sections(request) -> list[Section]:
    """The sections of PRODUCT.md §3 that the user's role has, in the original's order."""
    user = request.user
    vms = VirtualMachine.objects
    sections = []
    if user.can_own_vms:
        sections.append(_vm_section(request, "mine", _("My VMs"), vms.owned_by(user), _("You have no VMs yet.")))
    sections.append(
        _vm_section(
            request,
            "assigned_to_me",
            _("VMs assigned to me"),
            vms.assigned_to_user(user),
            _("No VM is assigned to you."),
        )
    )
    if user.can_keep_bookmarks:
        sections.append(
            _section(
                request,
                "bookmarks",
                _("My bookmarks"),
                Bookmark.objects.visible_to(user),
                kind="bookmarks",
                fields=BOOKMARK_SEARCH_FIELDS,
                empty=_("No bookmarks yet."),
            )
        )
    if user.can_assign_vms:
        assigned = vms.assignable_by(user).filter(assigned_to__isnull=False)
        sections.append(
            _vm_section(request, "assigned", _("Assigned VMs"), assigned, _("No VM of yours is assigned to anyone."))
        )
    if user.can_see_others_shared_vms:
        sections.append(
            _vm_section(
                request, "others", _("Other users' VMs"), vms.others_shared_for(user), _("No other user shares a VM.")
            )
        )
    return sections


def dashboard(request):
    return render(request, "dashboard/dashboard.html", {"sections": dashboard_sections(request)})
