from django.shortcuts import render
from django.views.decorators.http import require_safe

from access import rights
from access.checks import requires
from jobs.health import health


@require_safe
@requires(rights.VIEW_WORKER_HEALTH)
def worker_health(request):
    """For admins: whether the task queue's workers run the periodic jobs and send the e-mails."""
    return render(request, "jobs/health.html", {"health": health()})
