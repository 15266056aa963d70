"""A small lab, written and read inside `manage.py shell` by the drills (backups/tests/drill.py), never in pytest.

populate() makes users, VMs with passwords and SSH keys, bookmarks and audit rows; snapshot() prints every row
(dumpdata: secrets as their stored tokens) and every VM's decrypted secrets as one JSON line after MARK.
"""

import io
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.management import call_command

MARK = "LAB-SNAPSHOT "
PASSWORDS = [f"drill-password-{number}-Qz7v" for number in range(3)]


def _ssh_key() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        .decode()
    )


def populate() -> None:
    from django.contrib.sessions.backends.db import SessionStore

    from access.roles import Role
    from accounts.tests.factories import UserFactory
    from audit.models import Action
    from audit.services import audit_record
    from bookmarks.tests.factories import BookmarkFactory
    from machines.tests.factories import VirtualMachineFactory

    owner = UserFactory(username="drill-owner", role=Role.SIDEKICK)
    regular = UserFactory(username="drill-regular", role=Role.REGULAR)
    UserFactory(username="drill-admin", role=Role.ADMIN)
    vms = [
        VirtualMachineFactory(owner=owner, password=password, ssh_key=_ssh_key(), assigned_to=regular)
        for password in PASSWORDS
    ]
    VirtualMachineFactory(owner=owner, name="no-secrets")
    VirtualMachineFactory(owner=owner, name="key-only", ssh_key=_ssh_key())
    for number in range(2):
        BookmarkFactory(owner=owner, name=f"Drill bookmark {number}", tags="drill lab")
    for vm in vms:
        audit_record(action=Action.VM_CREATE, actor=owner, target=vm, details={"via": "drill"})
    # A signed-in browser's session: a sign-in token, which backups leave out.
    session = SessionStore()
    session["_auth_user_id"] = str(owner.pk)
    session.create()


def snapshot() -> None:
    from machines.models import VirtualMachine
    from machines.rotation import encrypted_fields_by_model

    dumped = io.StringIO()
    call_command("dumpdata", exclude=["sessions"], stdout=dumped, verbosity=0)
    rows = sorted(json.loads(dumped.getvalue()), key=lambda row: (row["model"], str(row["pk"])))
    # dumpdata encrypts each secret afresh (a new token every time): put the stored tokens in instead.
    for model, names in encrypted_fields_by_model().items():
        stored = {pk: values for pk, *values in model._base_manager.values_list("pk", *names)}
        for row in rows:
            if row["model"] == model._meta.label_lower:
                for name, value in zip(names, stored[row["pk"]], strict=True):
                    row["fields"][name] = value and value.token
    secrets = {str(vm.pk): [vm.password, vm.ssh_key] for vm in VirtualMachine.objects.order_by("pk")}
    print(MARK + json.dumps({"rows": rows, "secrets": secrets}))
