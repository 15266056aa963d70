"""Every list endpoint runs the same number of queries at N and 2N rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.roles import Role
from accounts.tests.factories import UserFactory
from api.tests.conftest import bearer, token_for
from audit.models import AuditEvent
from bookmarks.tests.factories import BookmarkFactory
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

N = 5


def add_rows(admin, count):
    sidekick = UserFactory(role=Role.SIDEKICK)
    for number in range(count):
        VirtualMachineFactory(owner=admin, assigned_to=UserFactory(role=Role.REGULAR), password="pw")
        VirtualMachineFactory(owner=sidekick, shared=True)
        BookmarkFactory(owner=admin, tags=f"lab t{number}")
        AuditEvent.objects.create(action="vm.create", actor=admin, actor_label=admin.username)
        token_for(admin)


LISTS = [
    ("Bearer", "/api/v1/vms/"),
    ("Bearer", "/api/v1/vms/ssh-config/"),
    ("Bearer", "/api/v1/bookmarks/"),
    ("Bearer", "/api/v1/tags/"),
    ("Bearer", "/api/v1/users/"),
    ("Bearer", "/api/v1/audit/"),
    ("Bearer", "/api/v1/tokens/"),
    ("Token", "/api/bookmarks/"),
    ("Token", "/api/tags/"),
]


@pytest.mark.parametrize(("keyword", "url"), LISTS)
def test_a_list_costs_the_same_queries_at_n_and_2n_rows(admin, keyword, url):
    token = token_for(admin)
    client = bearer(token=token)
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    counts = []
    for _step in range(2):
        add_rows(admin, N)
        client.get(url)  # the token's "last used" is written once a minute: not in the measured request
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"limit": 500})
        assert response.status_code == 200
        counts.append(len(queries))

    print(f"{url}: {counts[0]} queries at N, {counts[1]} at 2N")
    assert counts[0] == counts[1]
