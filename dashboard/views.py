from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Page
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from access import rights
from access_requests.models import AccessRequest
from bookmarks.models import Bookmark
from connect.status import with_status
from machines.models import VirtualMachine
from vmlab.core.pagination import paginate
from vmlab.core.search import QUERY_MAX_LENGTH

DASHBOARD_PER_PAGE = 10
REQUESTS_SHOWN = 5


@dataclass
class Section:
    """One list of the dashboard, searched and paged through its own query parameters."""

    key: str
    title: str
    kind: str  # "vms" or "bookmarks": which table the template draws
    page: Page
    query: str
    empty: str
    other_params: list[tuple[str, str]]  # the other sections' searches and pages, kept by this one's search form

    @property
    def search_param(self):
        return f"{self.key}_q"

    @property
    def clear_url(self):
        return f"?{urlencode(self.other_params)}#{self.key}"


def _section(request, key, title, queryset, *, kind, empty, rows=lambda page_rows: page_rows.for_table()):
    query = request.GET.get(f"{key}_q", "").strip()[:QUERY_MAX_LENGTH]
    if query:
        queryset = queryset.search(query)
    page = paginate(request, queryset, per_page=DASHBOARD_PER_PAGE, param=f"{key}_page", anchor=key)
    # Counted as plain rows (no join); only the rows of the page are read, as the table shows them.
    page.object_list = rows(page.object_list)
    own_params = {f"{key}_q", f"{key}_page"}
    others = [(name, value) for name, values in request.GET.lists() if name not in own_params for value in values]
    return Section(key=key, title=title, kind=kind, page=page, query=query, empty=empty, other_params=others)


def _vm_section(request, key, title, queryset, empty):
    # Each VM of the page with its live status (the last probe's result), in the same query.
    return _section(request, key, title, queryset, kind="vms", empty=empty, rows=with_status)


def dashboard_sections(request) -> list[Section]:
    """The sections of PRODUCT.md §3 that the user's role has, in the original's order."""
    user = request.user
    vms = VirtualMachine.objects
    sections = []
    if rights.OWN_VMS.granted_to(user):
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
    if rights.KEEP_BOOKMARKS.granted_to(user):
        sections.append(
            _section(
                request,
                "bookmarks",
                _("My bookmarks"),
                Bookmark.objects.visible_to(user),
                kind="bookmarks",
                empty=_("No bookmarks yet."),
            )
        )
    if rights.ASSIGN_VMS.granted_to(user):
        assigned = vms.owned_by(user).currently_assigned()
        sections.append(
            _vm_section(request, "assigned", _("Assigned VMs"), assigned, _("No VM of yours is assigned to anyone."))
        )
    if rights.SEE_OTHERS_SHARED_VMS.granted_to(user):
        sections.append(
            _vm_section(
                request, "others", _("Other users' VMs"), vms.others_shared_for(user), _("No other user shares a VM.")
            )
        )
    return sections


@login_not_required
@require_safe
def favicon(request):
    """Browsers and tools that ask for /favicon.ico, instead of reading the pages' icon link, get the same icon."""
    return HttpResponseRedirect(static("img/favicon.svg"))


def my_requests(user):
    """The user's latest requests and what became of them (the e-mail says it too), for those who may ask."""
    if not rights.REQUEST_VMS.granted_to(user):
        return None
    return list(AccessRequest.objects.made_by(user).select_related("vm", "granted_vm")[:REQUESTS_SHOWN])


@require_safe
def dashboard(request):
    context = {"sections": dashboard_sections(request), "my_requests": my_requests(request.user)}
    return render(request, "dashboard/dashboard.html", context)
