from django.core.paginator import Paginator

PER_PAGE = 20


def paginate(request, queryset, *, per_page: int = PER_PAGE, param: str = "page"):
    """The requested page of `queryset`, with prev/next URLs that keep the other query parameters.

    `param` lets several lists on one page (the dashboard's sections) page independently.
    """
    page_obj = Paginator(queryset, per_page).get_page(request.GET.get(param))
    page_obj.prev_url = _url(request, param, page_obj.previous_page_number()) if page_obj.has_previous() else None
    page_obj.next_url = _url(request, param, page_obj.next_page_number()) if page_obj.has_next() else None
    return page_obj


def _url(request, param, number):
    query = request.GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"
