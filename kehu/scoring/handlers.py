"""Signal receivers: a lead is scored whenever the leads app saves it."""

import logging

from . import services

logger = logging.getLogger(__name__)


def on_lead_saved(sender, lead, actor=None, created=False, **kwargs) -> None:
    """Score the lead now (a few milliseconds). Scoring never fails the lead's own save: an error is
    logged and the nightly rescoring catches the lead up."""
    try:
        # A new lead has no timeline to read, unless its sender logged one with it (web-form leads:
        # "form submitted"), which the signal says with ``timeline=True``.
        services.score_lead(lead, new=created and not kwargs.get("timeline"))
    except Exception:
        logger.exception("scoring lead %s failed", getattr(lead, "pk", None))
