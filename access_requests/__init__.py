"""Asking for a VM, or for more time on one, and the managers' decisions; reminders before access ends."""
