from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """`limit` and `offset`, and the answer's `count`, `next`, `previous` and `results`, as linkding's API has them."""

    default_limit = 50
    max_limit = 500


class LinkdingPagination(LimitOffsetPagination):
    """linkding's own defaults: 100 results; its browser extension asks for up to 5,000 tags."""

    default_limit = 100
    max_limit = 5000
