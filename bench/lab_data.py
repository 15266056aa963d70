"""The lab the page benchmarks read (bench/dashboard.py, bench/pages.py, `make profile`), added in steps of N.

A manager who sees every dashboard section, a regular user, five sidekicks and an admin. Each step adds 500 VMs
(every one with an encrypted password), 2,500 of the manager's bookmarks with tags, 500 more users and 2,500 audit
events about the VMs: step 0 is N, steps 0 and 1 together 2N (1,000 VMs, 5,000 bookmarks).
"""

import secrets

VMS_PER_STEP = 500
BOOKMARKS_PER_STEP = 2_500
USERS_PER_STEP = 500
EVENTS_PER_STEP = 2_500
SIDEKICKS = 5


class Lab:
    """The people a benchmark logs in as, and the ones who own the data."""

    def __init__(self):
        from access.roles import Role

        self.manager = _user("bench-manager", Role.MANAGER)
        self.admin = _user("bench-admin", Role.ADMIN)
        self.regular = _user("bench-regular", Role.REGULAR)
        self.sidekicks = [_user(f"bench-sidekick{number}", Role.SIDEKICK) for number in range(SIDEKICKS)]

    def add_step(self, step: int, *, users: bool = True, events: bool = True) -> None:
        """One step of VMs and bookmarks, and (unless told otherwise) of users and audit events."""
        _add_vms(self, step)
        _add_bookmarks(self.manager, step)
        if users:
            _add_users(step)
        if events:
            _add_events(self, step)


def _user(username, role):
    from accounts.models import User

    person = User(username=username, email=f"{username}@bench.example", role=role)
    person.set_unusable_password()  # force_login needs none, and hashing is not what is measured here
    person.save()
    return person


def _add_vms(lab: Lab, step: int) -> None:
    """Of every 10 VMs: 5 are the manager's (every third of them assigned to the regular user), 1 is a sidekick's
    assigned to the manager, 3 are sidekicks' shared VMs and 1 a sidekick's private VM."""
    from machines.models import VirtualMachine
    from machines.tests.factories import VirtualMachineFactory

    vms = []
    for number in range(step * VMS_PER_STEP, (step + 1) * VMS_PER_STEP):
        kind = number % 10
        sidekick = lab.sidekicks[number % SIDEKICKS]
        if kind < 5:
            fields = {"owner": lab.manager, "assigned_to": lab.regular if number % 3 == 0 else None, "shared": kind < 2}
        elif kind == 5:
            fields = {"owner": sidekick, "assigned_to": lab.manager, "shared": False}
        else:
            fields = {"owner": sidekick, "shared": kind < 9}
        vms.append(VirtualMachineFactory.build(password=secrets.token_urlsafe(16), **fields))
    VirtualMachine.objects.bulk_create(vms, batch_size=500)


def _add_bookmarks(owner, step: int) -> None:
    from bookmarks.models import Bookmark
    from bookmarks.tests.factories import BookmarkFactory

    bookmarks = []
    for number in range(step * BOOKMARKS_PER_STEP, (step + 1) * BOOKMARKS_PER_STEP):
        bookmark = BookmarkFactory.build(owner=owner, tags=f"lab docs team{number % 7}", description="Bench")
        bookmark.normalize()  # what save() does; bulk_create does not call save()
        bookmarks.append(bookmark)
    Bookmark.objects.bulk_create(bookmarks, batch_size=1000)


def _add_users(step: int) -> None:
    """Users of every approved role, a few disabled, with names, as the user list shows them."""
    from django.contrib.auth.hashers import make_password

    from access.roles import Role
    from accounts.models import User

    unusable = make_password(None)  # what set_unusable_password() stores, without hashing
    roles = [Role.REGULAR, Role.SIDEKICK, Role.REGULAR, Role.MANAGER]
    users = []
    for number in range(step * USERS_PER_STEP, (step + 1) * USERS_PER_STEP):
        username = f"bench-user{number:05}"
        users.append(
            User(
                username=username,
                email=f"{username}@bench.example",
                first_name=f"First{number}",
                last_name=f"Last{number}",
                role=roles[number % len(roles)],
                is_active=number % 25 != 0,
                password=unusable,
            )
        )
    User.objects.bulk_create(users, batch_size=500)


def _add_events(lab: Lab, step: int) -> None:
    """Audit events as the portal writes them: VM changes by their owners, with an address, a browser and details."""
    from audit.models import Action, AuditEvent
    from machines.models import VirtualMachine

    vms = list(VirtualMachine.objects.order_by("-pk").only("pk", "name", "owner_id")[:VMS_PER_STEP])
    owners = {person.pk: person for person in [lab.manager, *lab.sidekicks]}
    actions = [Action.VM_UPDATE, Action.VM_SHARE, Action.SECRET_SET, Action.VM_ASSIGN, Action.SECRET_REVEAL]
    events = []
    for number in range(EVENTS_PER_STEP):
        vm = vms[number % len(vms)]
        owner = owners[vm.owner_id]
        events.append(
            AuditEvent(
                actor=owner,
                actor_label=owner.username,
                action=actions[number % len(actions)],
                target_type="machines.virtualmachine",
                target_id=str(vm.pk),
                target_label=vm.name,
                ip=f"127.0.{step}.{number % 250 + 1}",
                user_agent="Mozilla/5.0 (X11; Linux x86_64) bench",
                details={"fields": ["name", "host"], "shared": number % 2 == 0, "count": number},
            )
        )
    AuditEvent.objects.bulk_create(events, batch_size=1000)
