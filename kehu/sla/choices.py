"""The values SLA conditions offer. The tickets app sits above sla, so these lists are sla's own copy
of the agreed ticket choices (docs/service interfaces); conditions also accept other strings."""

from django.utils.translation import gettext_lazy as _

PRIORITIES = [("low", _("Low")), ("normal", _("Normal")), ("high", _("High")), ("urgent", _("Urgent"))]
CHANNELS = [
    ("email", _("Email")),
    ("web", _("Web form")),
    ("phone", _("Phone")),
    ("chat", _("Chat")),
    ("wechat", _("WeChat")),
    ("api", _("API")),
    ("bot", _("Bot")),
]
TYPES = [
    ("inquiry", _("Inquiry")),
    ("complaint", _("Complaint")),
    ("request", _("Request")),
    ("incident", _("Incident")),
]
CONDITION_KEYS = ("priority", "grade", "channel", "category", "type")
NOTIFY_ROLES = {"assignee": _("Assignee"), "team_manager": _("Team managers")}
