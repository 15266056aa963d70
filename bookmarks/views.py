from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from access import rights
from access.checks import requires
from bookmarks import netscape, services
from bookmarks.forms import BookmarkForm, BookmarkImportForm
from bookmarks.models import Bookmark
from vmlab.core.pagination import paginate
from vmlab.core.redirects import safe_next
from vmlab.core.search import QUERY_MAX_LENGTH

BOOKMARK_FIELDS = ("name", "link", "tags", "description")


def _own_bookmark(request, pk):
    """A page with a pk answers 404 for anything the user may not touch, whatever the reason (PRODUCT.md §3)."""
    return get_object_or_404(Bookmark.objects.visible_to(request.user), pk=pk)


def _next_url(request):
    return safe_next(request, reverse("bookmarks:list"))


@require_safe
@requires(rights.KEEP_BOOKMARKS)
def bookmark_list(request):
    bookmarks = Bookmark.objects.visible_to(request.user)
    total, tags = bookmarks.tag_counts()
    query = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    tag = request.GET.get("tag", "").strip().lower()[:QUERY_MAX_LENGTH]
    results = bookmarks
    if query:
        results = results.search(query)
    if tag:
        results = results.tagged(tag)
    page_obj = paginate(request, results)
    page_obj.object_list = page_obj.object_list.for_table()  # counted as plain bookmarks; the page's rows as shown
    context = {"page_obj": page_obj, "query": query, "tag": tag, "tags": tags, "total": total}
    return render(request, "bookmarks/bookmark_list.html", context)


def _bookmark_data(form):
    return {field: form.cleaned_data[field] for field in BOOKMARK_FIELDS}


@require_http_methods(["GET", "POST"])
@requires(rights.KEEP_BOOKMARKS)
def bookmark_create(request):
    form = BookmarkForm(request.POST if request.method == "POST" else None, owner=request.user)
    if form.is_valid():
        try:
            bookmark = services.bookmark_create(owner=request.user, **_bookmark_data(form))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Bookmark “%(name)s” added.") % {"name": bookmark.name})
            return redirect(_next_url(request))
    return render(request, "bookmarks/bookmark_form.html", {"form": form, "next": _next_url(request)})


@require_http_methods(["GET", "POST"])
def bookmark_edit(request, pk):
    bookmark = _own_bookmark(request, pk)
    title = bookmark.name  # validating the form writes the typed values onto `bookmark`
    form = BookmarkForm(request.POST if request.method == "POST" else None, instance=bookmark, owner=request.user)
    if form.is_valid():
        try:
            services.bookmark_update(bookmark=bookmark, actor=request.user, **_bookmark_data(form))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Bookmark “%(name)s” saved.") % {"name": bookmark.name})
            return redirect(_next_url(request))
    context = {"form": form, "bookmark": bookmark, "title": title, "next": _next_url(request)}
    return render(request, "bookmarks/bookmark_form.html", context)


@require_http_methods(["GET", "POST"])
def bookmark_delete(request, pk):
    bookmark = _own_bookmark(request, pk)
    if request.method == "POST":
        services.bookmark_delete(bookmark=bookmark, actor=request.user)
        messages.success(request, _("Bookmark “%(name)s” deleted.") % {"name": bookmark.name})
        return redirect(_next_url(request))
    return render(request, "bookmarks/bookmark_confirm_delete.html", {"bookmark": bookmark, "next": _next_url(request)})


@require_http_methods(["GET", "POST"])
@requires(rights.KEEP_BOOKMARKS)
def bookmark_import(request):
    form = BookmarkImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    if form.is_valid():
        result = services.bookmarks_import(owner=request.user, entries=form.entries)
        message = _(
            "Import finished: %(created)d created, %(skipped)d skipped (already saved, or twice in the file), "
            "%(rejected)d rejected (not an http:// or https:// address, invalid, or too long)."
        ) % {"created": result.created, "skipped": result.skipped, "rejected": result.rejected}
        (messages.success if result.created else messages.warning)(request, message)
        return redirect("bookmarks:list")
    return render(request, "bookmarks/bookmark_import.html", {"form": form})


@require_safe
@requires(rights.KEEP_BOOKMARKS)
def bookmark_export(request):
    bookmarks = Bookmark.objects.visible_to(request.user).order_by("created_at", "pk")
    response = HttpResponse(netscape.render(bookmarks), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bookmarks.html"'
    return response
