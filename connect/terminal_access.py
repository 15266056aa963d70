"""Whether the user of a terminal may go on using it: checked at the WebSocket handshake (visible_vm), then every
ACCESS_CHECK_INTERVAL seconds while the session lasts (watch), so that a terminal ends within a minute once its user
logs out, is disabled or loses access to the VM. The checks read the database and the session afresh each time.
"""

import asyncio
from importlib import import_module
from typing import NamedTuple

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from access.checks import allowed
from accounts.two_factor.devices import must_set_one_up
from connect.terminal_slots import TerminalSlot
from machines.models import VirtualMachine

ACCESS_CHECK_INTERVAL = 60.0  # seconds between checks that the user may still use the VM
SLOT_TTL = 5 * 60.0  # seconds an open terminal counts for TERMINAL_SESSIONS_PER_USER after its last access check


class Lost(NamedTuple):
    outcome: str  # how the session ended, for the audit trail
    message: str  # why, for the user


def visible_vm(user, pk: int) -> VirtualMachine | None:
    if must_set_one_up(user):
        return None  # the portal's pages send such a user to the two-factor page; the terminal does not open
    return VirtualMachine.objects.visible_to(user).for_list().filter(pk=pk).first()


def access_lost(session_key: str, user_pk: int, vm_pk: int) -> str:
    """Why the user may no longer use this terminal, or "" while they may. Reads the session afresh."""
    user_model = auth.get_user_model()
    if not user_model.objects.filter(pk=user_pk, is_active=True).exists():
        return _("Your account was disabled.")
    if user_model.objects.filter(pk=user_pk).access_ended().exists():
        return _("Your access to VM Lab has ended: your account expired.")
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)  # anonymous once the session was logged out, expired or invalidated
    if user.pk != user_pk:
        return _("Your session ended (you logged out, or it expired): log in again to reconnect.")
    vm = VirtualMachine.objects.only("pk").filter(pk=vm_pk).first()
    if vm is None:
        return _("The VM was deleted.")
    if not allowed(VirtualMachine.objects.visible_to, user, vm):
        return _("Your access to this VM has ended.")
    return ""


async def watch(*, session_key: str, user_pk: int, vm_pk: int, slot: TerminalSlot) -> Lost:
    """Every ACCESS_CHECK_INTERVAL seconds, keep the terminal's slot among the user's terminals and check their
    access; returns once either is lost."""
    while True:
        await asyncio.sleep(ACCESS_CHECK_INTERVAL)
        if not await sync_to_async(slot.refresh)():
            message = ngettext(
                "This terminal was closed: its place among your %(count)d allowed terminals had lapsed, and another "
                "terminal took it.",
                "This terminal was closed: its place among your %(count)d allowed terminals had lapsed, and another "
                "terminal took it.",
                settings.TERMINAL_SESSIONS_PER_USER,
            ) % {"count": settings.TERMINAL_SESSIONS_PER_USER}
            return Lost("too_many_terminals", message)
        reason = await database_sync_to_async(access_lost)(session_key, user_pk, vm_pk)
        if reason:
            return Lost("access revoked", reason)
