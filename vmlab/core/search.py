from functools import reduce
from operator import and_, or_

from django.db.models import Q

MAX_TERMS = 8
# Longer search boxes are cut to this many characters.
QUERY_MAX_LENGTH = 200


def search_filter(query: str, fields: tuple[str, ...]) -> Q:
    """Every word of `query` must appear (any case) in at least one of `fields`."""
    terms = query.split()[:MAX_TERMS]
    if not terms:
        return Q()
    return reduce(and_, (reduce(or_, (Q(**{f"{field}__icontains": term}) for field in fields)) for term in terms))
