"""Signals of the leads app, so higher apps (scoring) react to lead writes without leads importing them.

``lead_saved`` is sent by the services after a lead is created or changed (also after assignment
and conversion), inside the write's transaction, with ``lead``, ``actor`` (None for public web
forms, which have no user), ``created`` and ``timeline`` (True when a new lead already has timeline
entries: a web-form submission logs "form submitted" before the signal, so a receiver that skips
the timeline of brand-new leads must read it then).
"""

from django.dispatch import Signal

lead_saved = Signal()
