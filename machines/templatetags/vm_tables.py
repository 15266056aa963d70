"""{% load vm_tables %}{% vm_rows vms as rows %}: the rows of a VM table (machines.tables), built once per table."""

from django import template

from machines.tables import vm_rows

register = template.Library()
register.simple_tag(vm_rows, name="vm_rows")
