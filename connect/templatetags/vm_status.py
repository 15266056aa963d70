"""The live status of a VM in a page or a table: `{% vm_status vm %}` (a badge) and `{% vm_status_card vm %}` (the VM
page's card, with "Check now"). Both read what connect.status gives; neither probes."""

from django import template

from connect.status import status_of

register = template.Library()


@register.inclusion_tag("connect/includes/vm_status.html")
def vm_status(vm):
    return {"status": status_of(vm)}


@register.inclusion_tag("connect/includes/vm_status_card.html", takes_context=True)
def vm_status_card(context, vm):
    return {"status": status_of(vm), "vm": vm, "csrf_token": context.get("csrf_token"), "request": context["request"]}
