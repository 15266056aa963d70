from django.core.paginator import Paginator

PER_PAGE = 20


def paginate(request, queryset, *, per_page: int = PER_PAGE, param: str = "page", anchor: str = ""):
    """The requested page of `queryset`, with prev/next URLs that keep the other query parameters.

    `param` lets several lists on one page (the dashboard's sections) page independently; `anchor`
    brings the browser back to that list instead of the top of the page.
    """
    page_obj = Paginator(queryset, per_page).get_page(request.GET.get(param))
    fragment = f"#{anchor}" if anchor else ""
    if page_obj.has_previous():
        page_obj.prev_url = _url(request, param, page_obj.previous_page_number()) + fragment
    else:
        page_obj.prev_url = None
    page_obj.next_url = _url(request, param, page_obj.next_page_number()) + fragment if page_obj.has_next() else None
    return page_obj


def _url(request, param, number):
    query = request.GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"
