"""Signals of the leads app, so higher apps (scoring) react to lead writes without leads importing them.

``lead_saved`` is sent by the services after a lead is created or changed (also after assignment
and conversion), inside the write's transaction, with ``lead``, ``actor`` (None for public web
forms, which have no user) and ``created``.
"""

from django.dispatch import Signal

lead_saved = Signal()
