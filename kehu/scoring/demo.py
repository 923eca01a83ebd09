"""Demo scoring: fit and engagement rules in the demo workspace, its leads scored, one training run
(which, with ~50 demo leads, says how much more history the predictive score needs)."""

from django_scopes import scope

from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services

FIT_RULES = (
    ("industry", "in", ["软件", "Software", "电子"], 20),
    ("source", "in", ["referral", "event"], 15),
    ("size", "in", ["250-999", "1000+"], 10),
    ("title", "contains", "总监", 8),
    ("email", "is_empty", None, -10),
)
ENGAGEMENT_RULES = (
    ("meeting_held", 10, 14, 30),
    ("call_connected", 5, 10, 20),
    ("email_opened", 2, 7, 10),
    ("form_submitted", 8, 30, 16),
)


def seed(slug: str) -> None:
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.filter(role__key="owner").select_related("user").first()
        actor = actor_for(owner.user, workspace)
        for field, operator, value, points in FIT_RULES:
            services.create_rule(
                actor, kind="fit", field=field, operator=operator, value=value, points=points
            )
        for event, points, half_life, cap in ENGAGEMENT_RULES:
            services.create_rule(
                actor, kind="engagement", event=event, points=points, half_life_days=half_life, cap=cap
            )
        services.train(workspace)  # too little history in the demo: records why, rescores by the rules
