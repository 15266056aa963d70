"""E-mails about access: rendered from templates/access_requests/email/ in each recipient's time zone and language,
and sent by the task queue's worker (never inside a request: a slow mail server delays nobody's page).

A message is queued when the transaction that caused it commits, so a change rolled back sends nothing.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_q.tasks import async_task

from accounts import language

logger = logging.getLogger(__name__)

MAIL_TASK_OPTIONS = {"group": "E-mail"}


def notify(recipients, template: str, context: dict) -> int:
    """Queue `template` (<template>_subject.txt and <template>.txt) to each recipient with an e-mail address, in
    their time zone and language; each sees their own name as `recipient`, and links start with SITE_URL. Returns
    how many were queued."""
    queued = 0
    for person in {person.pk: person for person in recipients}.values():
        if not person.email:
            continue
        with timezone.override(person.zone), language.for_user(person):
            values = {**context, "recipient": person, "site_url": settings.SITE_URL}
            subject = " ".join(render_to_string(f"access_requests/email/{template}_subject.txt", values).split())
            body = render_to_string(f"access_requests/email/{template}.txt", values)
        transaction.on_commit(_queue(subject, body, person.email))
        queued += 1
    return queued


def _queue(subject: str, body: str, address: str):
    return lambda: async_task("access_requests.mail.send_message", subject, body, address, q_options=MAIL_TASK_OPTIONS)


def send_message(subject: str, body: str, address: str) -> None:
    """The task: one plain-text e-mail through Django's mail API (EMAIL_URL). A failure raises, and the queue
    tries again (Q_CLUSTER max_attempts)."""
    send_mail(subject, body, None, [address])
    logger.info("e-mail %r sent", subject)
