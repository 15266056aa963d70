"""Decryptions while an admin reads every list page: .venv/bin/python bench/list_decryptions.py

PRODUCT.md and README ("Secrets never reach a page by GET") say that lists load VMs without their secrets, so
reading them decrypts nothing. With 200 VMs that all have a password and an SSH key (some the admin's, some
other users' shared or assigned ones), other users' authenticator apps (seeds encrypted too), bookmarks, users
waiting for approval and audit events in the database,
an admin GETs every list page of the portal and of the Django admin. Counted per page: every call of
vmlab.core.crypto.decrypt, and every Fernet decryption whichever way it is asked for (Fernet.decrypt,
decrypt_at_time, and MultiFernet.decrypt or rotate, which skip Fernet.decrypt and call each key's
Fernet._decrypt_data: that is the function wrapped). The goal (and the baseline of a correct portal) is 0 for
every page. A reveal (POST with the admin's password) must
count at least one decryption, or the counter itself is broken and the zeros mean nothing.
"""

import secrets
import tempfile
from collections import Counter
from functools import wraps
from pathlib import Path

import scratch

VMS = 200
BOOKMARKS = 100
WAITING_USERS = 5
SIDEKICKS = 4
ADMIN_PASSWORD = secrets.token_urlsafe(16)


class DecryptionCounter:
    """Wraps the decrypting functions in place; `counts` holds calls per function name since the last reset."""

    def __init__(self):
        self.counts = Counter()

    def install(self) -> None:
        from cryptography.fernet import Fernet

        from vmlab.core import crypto

        for owner, name in ((Fernet, "_decrypt_data"), (crypto, "decrypt")):
            label = f"{owner.__name__}.{name}"
            setattr(owner, name, self._counting(getattr(owner, name), label))

    def _counting(self, function, label):
        @wraps(function)
        def counting(*args, **kwargs):
            self.counts[label] += 1
            return function(*args, **kwargs)

        return counting

    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        fernet, vmlab = self.counts["Fernet._decrypt_data"], self.counts["vmlab.core.crypto.decrypt"]
        return f"Fernet key decryptions {fernet}, vmlab.core.crypto.decrypt {vmlab}"


def ssh_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        .decode()
    )


def make_data():
    """The admin, other users, VMs with both secrets, bookmarks and audit events; returns (admin, one VM of theirs)."""
    from access.roles import Role
    from accounts.models import AuthenticatorApp, User
    from audit.models import Action
    from audit.services import audit_record
    from bookmarks.models import Bookmark
    from bookmarks.tests.factories import BookmarkFactory
    from machines.models import VirtualMachine
    from machines.tests.factories import VirtualMachineFactory

    def user(username, role, password=None):
        person = User(username=username, email=f"{username}@bench.example", role=role)
        if password:
            person.set_password(password)
        else:
            person.set_unusable_password()
        person.save()
        return person

    admin = user("bench-admin", Role.ADMIN, ADMIN_PASSWORD)
    regular = user("bench-regular", Role.REGULAR)
    sidekicks = [user(f"bench-sidekick{number}", Role.SIDEKICK) for number in range(SIDEKICKS)]
    for number in range(WAITING_USERS):
        user(f"bench-newcomer{number}", Role.NEW_USER)
    for person in (regular, *sidekicks):
        AuthenticatorApp.objects.create(user=person, name="Phone", confirmed=True)

    key = ssh_private_key()
    vms = []
    for number in range(VMS):
        owner = admin if number % 2 == 0 else sidekicks[number % SIDEKICKS]
        vms.append(
            VirtualMachineFactory.build(
                owner=owner,
                assigned_to=regular if number % 5 == 0 else None,
                shared=number % 3 != 0,
                password=secrets.token_urlsafe(16),
                ssh_key=key,
            )
        )
    VirtualMachine.objects.bulk_create(vms)
    bookmarks = [BookmarkFactory.build(owner=admin, tags="lab docs") for _ in range(BOOKMARKS)]
    for bookmark in bookmarks:
        bookmark.normalize()
    Bookmark.objects.bulk_create(bookmarks)
    for vm in VirtualMachine.objects.without_secrets()[:50]:
        audit_record(action=Action.VM_CREATE, actor=vm.owner, target=vm)
    return admin, VirtualMachine.objects.without_secrets().filter(owner=admin).first()


def list_pages(admin) -> dict[str, str]:
    from django.urls import reverse

    return {
        "dashboard": reverse("dashboard"),
        "bookmark list": reverse("bookmarks:list"),
        "user list": reverse("people:user_list"),
        "user detail (their VMs)": reverse("people:user_detail", args=[admin.pk]),
        "waiting list": reverse("people:waiting_list"),
        "audit trail": reverse("audit:event_list"),
        "admin: VMs": reverse("admin:machines_virtualmachine_changelist"),
        "admin: users": reverse("admin:accounts_user_changelist"),
        "admin: bookmarks": reverse("admin:bookmarks_bookmark_changelist"),
        "admin: audit events": reverse("admin:audit_auditevent_changelist"),
        "admin: authenticator apps": reverse("admin:accounts_authenticatorapp_changelist"),
    }


def other_pages(vm) -> dict[str, str]:
    """GET pages about one VM: not lists, yet they must not decrypt either."""
    from django.urls import reverse

    return {
        "VM detail": reverse("machines:detail", args=[vm.pk]),
        "VM edit": reverse("machines:edit", args=[vm.pk]),
        "VM reveal form": reverse("machines:reveal", args=[vm.pk]),
        "VM ssh config": reverse("machines:ssh_config", args=[vm.pk]),
        "admin: VM change": reverse("admin:machines_virtualmachine_change", args=[vm.pk]),
    }


def count_pages(client, counter, pages: dict[str, str]) -> list[tuple[str, str, int, str]]:
    rows = []
    for name, url in pages.items():
        counter.counts.clear()
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{name} ({url}) answered {response.status_code}, not 200")
        rows.append((name, url, counter.total(), counter.describe()))
    return rows


def count_reveal(client, counter, vm) -> tuple[Counter, str]:
    from django.urls import reverse

    counter.counts.clear()
    response = client.post(
        reverse("machines:reveal", args=[vm.pk]), {"secret": "password", "account_password": ADMIN_PASSWORD}
    )
    if response.status_code != 200 or response.get("Cache-Control") != "no-store":
        raise SystemExit(f"the reveal did not show the password (status {response.status_code})")
    return counter.counts.copy(), counter.describe()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_list_decryptions")
        try:
            scratch.setup_django()
            admin, vm = make_data()
            client = scratch.logged_in_client(admin)
            counter = DecryptionCounter()
            counter.install()
            lists = count_pages(client, counter, list_pages(admin))
            others = count_pages(client, counter, other_pages(vm))
            reveal_counts, reveal_detail = count_reveal(client, counter, vm)
        finally:
            scratch.drop_database(env)

    print(f"Decryptions per page, as an admin, {VMS} VMs each with a password and an SSH key:")
    for name, url, total, detail in lists:
        print(f"  {name:<26} {url:<42} {total:>3}  ({detail})")
    print("Other GET pages about one VM (not lists, goal 0 too):")
    for name, url, total, detail in others:
        print(f"  {name:<26} {url:<42} {total:>3}  ({detail})")
    # Both wrapped functions must have seen the reveal, or a zero above could come from a dead wrapper.
    works = reveal_counts["Fernet._decrypt_data"] > 0 and reveal_counts["vmlab.core.crypto.decrypt"] > 0
    print(
        f"Counter check: one reveal (POST) counted {reveal_detail}: "
        + ("the counter works" if works else "the counter is BROKEN, the zeros above mean nothing")
    )
    during_lists = sum(total for _name, _url, total, _detail in lists)
    met = works and during_lists == 0
    print(f"decryptions during {len(lists)} list pages: {during_lists} (goal 0) {scratch.goal(met)}")


if __name__ == "__main__":
    main()
