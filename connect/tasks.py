"""The task queue's work for connect (run by `manage.py qcluster`, scheduled by jobs.schedules): probing VMs.

Synchronous entry points, as the queue calls them: the probes run in an event loop (async_to_sync), and the
database is read and written back on the calling thread, so the worker's connection is the one used.
"""

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from connect import probes, services
from connect.status import probe_targets

BATCH = 500  # VMs read at once


def probe_all_vms() -> int:
    """Probe every VM, REACHABILITY_CONCURRENCY at a time; returns how many were probed."""
    return async_to_sync(_probe_all)()


async def _probe_all() -> int:
    async def batches():
        after = 0
        while batch := await sync_to_async(probe_targets)(after=after, limit=BATCH):
            yield batch
            after = batch[-1].vm_id

    return await probes.probe_all(
        batches(),
        sync_to_async(services.vm_reachability_store),
        concurrency=settings.REACHABILITY_CONCURRENCY,
        timeout=settings.REACHABILITY_TIMEOUT,
    )


def probe_vm(vm_id: int) -> str:
    """Probe one VM ("Check now"); returns the state found, or "" if the VM is gone."""
    targets = [target for target in probe_targets(after=vm_id - 1, limit=1) if target.vm_id == vm_id]
    if not targets:
        return ""
    result = async_to_sync(probes.probe)(targets[0], timeout=settings.REACHABILITY_TIMEOUT)
    services.vm_reachability_store([result])
    return result.state
