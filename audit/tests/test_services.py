import pytest

from audit.models import Action, AuditEvent
from audit.services import audit_complete, audit_record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["password", "ssh_key", "secret", "token"])
def test_a_row_with_a_secret_looking_detail_is_refused(admin, key):
    with pytest.raises(ValueError, match="must not hold secrets"):
        audit_record(action=Action.VM_TERMINAL, actor=admin, details={key: "value"})

    assert not AuditEvent.objects.filter(action=Action.VM_TERMINAL).exists()


def test_completing_a_row_replaces_its_details(admin):
    event = audit_record(action=Action.VM_TERMINAL, actor=admin, details={"outcome": "open"})

    audit_complete(event, {"outcome": "exit 0", "bytes_in": 12})

    event.refresh_from_db()
    assert event.details == {"outcome": "exit 0", "bytes_in": 12}
    assert AuditEvent.objects.filter(action=Action.VM_TERMINAL).count() == 1


def test_completing_a_row_with_a_secret_looking_detail_is_refused_and_leaves_it(admin):
    event = audit_record(action=Action.VM_TERMINAL, actor=admin, details={"outcome": "open"})

    with pytest.raises(ValueError, match="must not hold secrets"):
        audit_complete(event, {"outcome": "exit 0", "password": "typed"})

    event.refresh_from_db()
    assert event.details == {"outcome": "open"}
