"""A file download ends when the user's access to the VM does.

The VM's file is first copied to the server (connect.sftp.download, within SSH_CONNECT_TIMEOUT per chunk and at
most SFTP_MAX_FILE_SIZE), then streamed to the browser, which may take long on a slow link. The stream asks again
whether the user may still use the VM (VirtualMachine.objects.visible_to, which knows the account itself) before
its first chunk and then every ACCESS_CHECK_INTERVAL seconds, as the terminal does. Once access has ended the
stream stops short: the browser reports the download as failed, and no byte is sent more than
ACCESS_CHECK_INTERVAL seconds after the access ended. An HTTP download cannot carry a message; the next page the
user opens is a 404.

Uploads need no such watch: the browser's body is received whole before the view runs, which checks access then,
and the copy to the VM that follows takes seconds.
"""

import logging
import time

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from access.checks import allowed
from machines.models import VirtualMachine

logger = logging.getLogger(__name__)

ACCESS_CHECK_INTERVAL = 60.0  # seconds between checks while a download is streamed, as the terminal's


def access_still_granted(user_pk: int, vm_pk: int) -> bool:
    """Read the user afresh: an account disabled or expired since the download began loses it too."""
    user = get_user_model().objects.filter(pk=user_pk).first()
    return user is not None and allowed(VirtualMachine.objects.visible_to, user, VirtualMachine(pk=vm_pk))


class _Watch:
    def __init__(self, user_pk: int, vm_pk: int):
        self.user_pk, self.vm_pk = user_pk, vm_pk
        self.next_check = 0.0  # the first chunk is checked

    def due(self) -> bool:
        return time.monotonic() >= self.next_check

    def passed(self, granted: bool) -> bool:
        if not granted:
            logger.info("Download from VM %s stopped: user %s no longer has access to it", self.vm_pk, self.user_pk)
            return False
        self.next_check = time.monotonic() + ACCESS_CHECK_INTERVAL
        return True


def guard_download(response, *, user_pk: int, vm_pk: int):
    """Make `response` (a streaming FileResponse, synchronous or asynchronous) stop once access ends."""
    watch = _Watch(user_pk, vm_pk)
    content = response.streaming_content
    if response.is_async:

        async def checked_async():
            async for chunk in content:
                if watch.due() and not watch.passed(await sync_to_async(access_still_granted)(user_pk, vm_pk)):
                    return
                yield chunk

        response.streaming_content = checked_async()
    else:

        def checked():
            for chunk in content:
                if watch.due() and not watch.passed(access_still_granted(user_pk, vm_pk)):
                    return
                yield chunk

        response.streaming_content = checked()
    return response
