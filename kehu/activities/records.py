"""Records of any app named by ``(object_type, object_id)``, resolved without importing that app.

An object type key is "app_label.model_name" ("customers.account"), so the model is found through
Django's app registry; only ``OwnedRecord`` models registered under that key qualify, and every
access goes through ``access_record`` like a direct read would.
"""

from django.apps import apps
from django.db.models import Model, Q
from django.utils.translation import gettext as _

from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import Actor, access_record, scope_filter

# A record type's page when its URL name is not "<app>:<model>-detail" (e.g. "tickets:detail"), registered
# by its app in AppConfig.ready(): notifications, My tasks and no-JavaScript redirects link to it.
RECORD_PAGES: dict[str, str] = {}


def register_record_page(object_type: str, url_name: str) -> None:
    """The URL name (taking the record's pk) of the page of ``object_type``'s records."""
    RECORD_PAGES[object_type] = url_name


def record_model(object_type: str) -> type[Model] | None:
    """The model of a record object type, or None when there is none (or it is no OwnedRecord)."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return None
    return model if getattr(model, "object_type", None) == object_type else None


def access_linked(actor: Actor, object_type: str, object_id: object, action: str = "view") -> Model:
    """The record the actor may see (and ``action``); NotFound for unknown types, ids and hidden ones."""
    model = record_model(object_type)
    if model is None:
        raise NotFound()
    return access_record(actor, model.objects.all(), object_id, action)


def check_links(actor: Actor, links, field: str = "links") -> list[tuple[str, int]]:
    """Deduplicated ``(object_type, id)`` pairs, each visible to the actor; a field error otherwise."""
    cleaned: list[tuple[str, int]] = []
    errors = []
    for index, link in enumerate(links or []):
        try:
            object_type, object_id = link
            object_id = int(object_id)
            access_linked(actor, str(object_type), object_id)
        except (NotFound, TypeError, ValueError):
            errors.append(FieldError(f"{field}.{index}", _("Unknown record."), "invalid"))
            continue
        if (object_type, object_id) not in cleaned:
            cleaned.append((object_type, object_id))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def prefixed(condition: Q | None, prefix: str) -> Q | None:
    """``condition`` with every lookup moved under ``prefix`` (``owner_id`` → ``activity__owner_id``)."""
    if condition is None:
        return None
    moved = Q()
    moved.connector, moved.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            moved.children.append(prefixed(child, prefix))
        else:
            key, value = child
            moved.children.append((f"{prefix}__{key}", value))
    return moved


def scope_through(actor: Actor, object_type: str, prefix: str) -> Q | None:
    """The actor's record scope for ``object_type``, applied through a relation (None = everything)."""
    return prefixed(scope_filter(actor, object_type), prefix)
