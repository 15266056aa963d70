"""The live status of a VM in a table or a page: `{% vm_status row %}` (a badge, for a row of
connect.status.with_status) and `{% vm_status_card vm %}` (the VM page's card, with "Check now"). Both read what
connect.status gives; neither probes."""

from django import template

from connect.status import status_badge, status_of, status_of_row

register = template.Library()


@register.simple_tag
def vm_status(row):
    return status_badge(status_of_row(row))


@register.inclusion_tag("connect/includes/vm_status_card.html", takes_context=True)
def vm_status_card(context, vm):
    status = status_of(vm)
    return {
        "status": status,
        "badge": status_badge(status),
        "vm": vm,
        "csrf_token": context.get("csrf_token"),
        "request": context["request"],
    }
