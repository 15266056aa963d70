"""The whole OpenAPI description, fuzzed by schemathesis in process (the WSGI application, the test database) as a
regular user, a manager and an admin, each with a write-scope token: no 5xx, every status code, content type, header
and body as the description says, and no secret of the test data in any response but a deliberate reveal's.

Path ids are drawn from the objects seeded for the caller half of the time, so that the examples reach real VMs,
bookmarks, users, events and tokens, and not only 404s. Examples are bounded (EXAMPLES per operation and role).
"""

import json
import secrets

import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from access.roles import Role
from accounts.models import TokenScope
from accounts.tests.factories import UserFactory
from accounts.tokens import token_create
from api.linkding import tag_id
from audit.models import AuditEvent
from bookmarks.tests.factories import BookmarkFactory
from machines.tests.factories import VirtualMachineFactory
from vmlab.tests.leakscan import needles

EXAMPLES = 10
ROLES = [Role.REGULAR, Role.MANAGER, Role.ADMIN]
LINKDING_PREFIXES = ("/api/bookmarks/", "/api/tags/", "/api/user/")

VM_PASSWORD = f"vm-pw-{secrets.token_hex(12)}"
ACCOUNT_PASSWORD = f"acct-pw-{secrets.token_hex(12)}"
SSH_KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    .decode()
)


def openapi() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(openapi())
schema.app = get_wsgi_application()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# What the run found, for the report at the end of the module (see README, "API").
CASES_RUN = []


class World:
    """The test data one role's caller meets: own, assigned and others' objects, each with known secrets."""

    def __init__(self, role):
        self.caller = UserFactory(role=role, password=ACCOUNT_PASSWORD)
        sidekick = UserFactory(role=Role.SIDEKICK, password=ACCOUNT_PASSWORD)
        vms = [
            VirtualMachineFactory(owner=sidekick, shared=True, password=VM_PASSWORD, ssh_key=SSH_KEY),
            VirtualMachineFactory(owner=sidekick, assigned_to=self.caller if role == Role.REGULAR else None),
            VirtualMachineFactory(owner=sidekick, shared=False, password=VM_PASSWORD),
        ]
        if role != Role.REGULAR:
            vms.append(VirtualMachineFactory(owner=self.caller, password=VM_PASSWORD, ssh_key=SSH_KEY))
        bookmarks = [BookmarkFactory(owner=self.caller, tags="lab docs"), BookmarkFactory(owner=sidekick, tags="x")]
        newcomer = UserFactory(role=Role.NEW_USER, password=ACCOUNT_PASSWORD)
        _token, self.plaintext = token_create(user=self.caller, name="fuzz", scope=TokenScope.WRITE)
        other_token, self.other_plaintext = token_create(user=self.caller, name="spare", scope=TokenScope.READ)
        self.ids = [
            *(vm.pk for vm in vms),
            *(bookmark.pk for bookmark in bookmarks),
            *(user.pk for user in (self.caller, sidekick, newcomer)),
            other_token.pk,
            tag_id("lab"),
            AuditEvent.objects.order_by("pk").values_list("pk", flat=True).first(),
        ]
        self.secrets = needles(
            passwords={
                "VM password": VM_PASSWORD,
                "account password": ACCOUNT_PASSWORD,
                "token": self.plaintext,
                "spare token": self.other_plaintext,
            },
            keys={"SSH key": SSH_KEY},
        )

    def headers(self, path: str) -> dict:
        keyword = "Token" if path.startswith(LINKDING_PREFIXES) else "Bearer"
        return {"Authorization": f"{keyword} {self.plaintext}"}


@pytest.fixture
def keep_the_test_connection():
    """The WSGI handler closes the database connection after each request, as a server's would: the test's own
    transaction must survive it (django.test.Client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=ROLES)
def world(request, db, settings, keep_the_test_connection):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.API_RATE_LIMIT = 100_000
    settings.REVEAL_RATE_LIMIT = 100
    settings.AXES_FAILURE_LIMIT = 10_000
    return World(request.param)


def leaked(world: World, case, response) -> list[str]:
    text = (response.text or "") + repr(dict(response.headers))
    deliberate = case.operation.path.endswith("/reveal/") and response.status_code == 200
    return [name for needle, name in world.secrets.items() if needle.lower() in text.lower() and not deliberate]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_description_and_its_secrets(case, world):
    parameter = case.path_parameters.get("id") if case.path_parameters else None
    if isinstance(parameter, int) and parameter % 2 == 0:
        case.path_parameters["id"] = world.ids[parameter // 2 % len(world.ids)]
    response = case.call(headers=world.headers(case.operation.path))
    CASES_RUN.append((case.operation.label, response.status_code))
    case.validate_response(response, checks=CHECKS)
    assert not leaked(world, case, response), f"{case.operation.label} {response.status_code}: {response.text[:500]}"


def test_the_fuzzing_reached_every_operation_and_real_objects():
    """Runs after the fuzzing (same module, later): every operation was called, and not only with 4xx answers."""
    if not CASES_RUN:
        pytest.skip("run together with the fuzzing tests")
    operations = {label for label, _status in CASES_RUN}
    assert len(operations) == len(list(schema.get_all_operations()))
    successes = sum(200 <= status < 300 for _label, status in CASES_RUN)
    print(f"schemathesis: {len(CASES_RUN)} cases over {len(operations)} operations, {successes} answered 2xx")
    assert successes > len(operations)
