"""What can be imported: one ``Target`` per object type, registered once.

A target says which fields a file's columns can map to (built-in fields, plus the workspace's
custom fields), which are required, which keys find an existing record for update/upsert, and
which services write a batch. Adding an object type (leads, later tickets) is one
``register_target(Target(...))`` call: the reader, cleansing, job runner, lineage, report and undo
are generic.

Field keys: a model field (``email``), ``custom.<key>`` for a custom field, ``line.<field>`` for an
order line; a few virtual fields (``first_name``/``last_name``, ``mobile``, ``account`` by name,
``owner`` by email) are turned into service arguments by the target's ``prepare``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.errors import FieldError, ValidationFailed
from kehu.customfields.models import FieldType
from kehu.customfields.queries import writable
from kehu.workspaces.access import Actor, require, visible
from kehu.workspaces.models import Membership


@dataclass
class TargetField:
    key: str
    label: Any
    kind: str = "text"  # text long_text phone email date datetime number money bool choice multi_choice ref
    required: bool = False
    max_length: int = 0
    choices: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Target:
    key: str  # "contacts": the CLI's --object and the API's target
    label: Any
    object_type: str
    model: type[Model]
    base_fields: Callable[[], list[TargetField]]
    match_keys: tuple[str, ...]  # keys that find an existing record: id, email, phone, sku …
    prepare: Callable[["Batch"], None]  # cleaned row values → service items (batched lookups)
    create: Callable[[Actor, list[dict]], tuple[list, dict[int, list[FieldError]]]]
    update: Callable[[Actor, Any, dict], Any]
    delete: Callable[[Actor, Any], None]
    find: Callable[[Actor, str, list], dict]  # match key, values → {value: record}
    before: Callable[[Any, dict], dict]  # a record's values that an update will change (for undo)
    restore: Callable[[Actor, Any, dict], None]
    group_by: tuple[str, ...] = ()  # orders: consecutive rows with the same key are one record
    duplicate_keys: tuple[str, ...] = ()  # create mode: refuse rows whose key already exists
    # Tables ("app.Model") that the batches grow and the duplicate/match lookups read: the run
    # refreshes their planner statistics now and then (``customers.bulk.refresh_statistics``).
    statistics: tuple[str, ...] = ()
    # Undo of many created records at once (ids → how many deleted; ``DomainError`` deletes none), when
    # the type has a bulk delete: else ``delete`` one by one.
    delete_many: Callable[[Actor, list[int]], int] | None = None

    def fields(self, actor: Actor) -> list[TargetField]:
        return self.base_fields() + custom_fields(actor, self.object_type)

    def required_fields(self, actor: Actor) -> list[str]:
        return [f.key for f in self.fields(actor) if f.required]


@dataclass
class Row:
    """One record to write: its source row(s), cleaned values and the item the service takes."""

    number: int  # first source row
    values: dict[str, Any]
    lines: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row, line.* values)
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, key: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(key, message, code))


@dataclass
class Batch:
    actor: Actor
    rows: list[Row]
    options: dict
    created: list[tuple[int, Model]] = field(default_factory=list)  # side records (new accounts)


TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> None:
    TARGETS[target.key] = target


def get_target(key: str) -> Target:
    from kehu.core.errors import NotFound

    try:
        return TARGETS[key]
    except KeyError:
        raise NotFound(_("Unknown object to import: %(key)s.") % {"key": key}) from None


# --- custom fields -------------------------------------------------------------------------------

CUSTOM_KINDS = {
    FieldType.TEXT: "text",
    FieldType.LONG_TEXT: "long_text",
    FieldType.NUMBER: "number",
    FieldType.PERCENT: "number",
    FieldType.MONEY: "money",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.BOOLEAN: "bool",
    FieldType.SINGLE_SELECT: "choice",
    FieldType.MULTI_SELECT: "multi_choice",
    FieldType.URL: "text",
    FieldType.EMAIL: "email",
    FieldType.PHONE: "phone",
    FieldType.USER: "user",
    FieldType.RELATION: "text",
}


def custom_fields(actor: Actor, object_type: str) -> list[TargetField]:
    """The custom fields this member may write, as import targets (validated by the services)."""
    return [
        TargetField(
            f"custom.{d.key}",
            d.label,
            CUSTOM_KINDS.get(d.field_type, "text"),
            required=d.required,
            choices=[(str(c.get("value")), c.get("label") or c.get("value")) for c in d.choices],
        )
        for d in writable(actor, object_type)
    ]


# --- shared helpers ------------------------------------------------------------------------------


def choices_of(model, name: str) -> list[tuple[str, Any]]:
    return list(model._meta.get_field(name).choices)


def owned(model) -> bool:
    return any(f.name == "owner" for f in model._meta.fields)


def readable(actor: Actor, model):
    """Records of ``model`` the actor may see (owned records by their rules; catalog data by grant)."""
    if owned(model):
        return visible(actor, model.objects.all())
    require(actor, "view", model.object_type)
    return model.objects.all()


def plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def split_values(row: Row) -> dict[str, Any]:
    """Model fields and ``custom`` from a row's cleaned values (virtual fields left to ``prepare``)."""
    item: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in row.values.items():
        if key.startswith("custom."):
            custom[key.removeprefix("custom.")] = value
        elif "." not in key:
            item[key] = value
    if custom:
        item["custom"] = custom
    return item


def members_by_email(emails: Iterable[str]) -> dict[str, int]:
    wanted = {e.lower() for e in emails if e}
    if not wanted:
        return {}
    return {
        email.lower(): user_id
        for email, user_id in Membership.objects.filter(
            user__email__in=wanted, is_active=True, user__is_active=True
        ).values_list("user__email", "user_id")
    }


def resolve_users(batch: Batch, keys: Iterable[str] = ("owner",)) -> None:
    """``owner`` (and custom user fields) given as a member's email → user id."""
    user_keys = set(keys)
    wanted = [
        row.values.get(k) for row in batch.rows for k in user_keys if isinstance(row.values.get(k), str)
    ]
    found = members_by_email(wanted)
    for row in batch.rows:
        for key in user_keys:
            email = row.values.get(key)
            if not isinstance(email, str):
                continue
            if email.lower() not in found:
                row.fail(key, _("No active member has the email %(email)s.") % {"email": email})
            elif key == "owner":
                row.item["owner_id"] = found[email.lower()]
            else:
                row.item.setdefault("custom", {})[key.removeprefix("custom.")] = found[email.lower()]


def user_keys(batch: Batch, target_object_type: str) -> list[str]:
    keys = ["owner"]
    keys += [f.key for f in custom_fields(batch.actor, target_object_type) if f.kind == "user"]
    return keys


def resolve_accounts(batch: Batch, *, create_missing: bool) -> None:
    """``account`` given by name → ``account_id`` (a visible account of that exact name; new when
    allowed and missing)."""
    from kehu.customers.models import Account
    from kehu.customers.services import bulk_create_accounts

    names = {row.values["account"] for row in batch.rows if row.values.get("account")}
    if not names:
        return
    found: dict[str, int] = {}
    for pk, name in (
        visible(batch.actor, Account.objects.filter(name__in=names)).order_by("id").values_list("pk", "name")
    ):
        found.setdefault(name, pk)
    missing = sorted(names - found.keys())
    if missing and create_missing and batch.actor.can("create", Account.object_type):
        first_row = {}
        for row in batch.rows:
            first_row.setdefault(row.values.get("account"), row.number)
        for account in bulk_create_accounts(batch.actor, [{"name": name} for name in missing]):
            found[account.name] = account.pk
            batch.created.append((first_row[account.name], account))
    for row in batch.rows:
        name = row.values.get("account")
        if name:
            if name in found:
                row.item["account_id"] = found[name]
            else:
                row.fail("account", _("No account is named “%(name)s”.") % {"name": name})


def resolve_contacts_by_email(batch: Batch) -> None:
    from kehu.customers.models import Contact

    emails = {row.values["contact"] for row in batch.rows if row.values.get("contact")}
    if not emails:
        return
    found = dict(
        visible(batch.actor, Contact.objects.filter(email__in=emails))
        .order_by("-id")
        .values_list("email", "pk")
    )
    for row in batch.rows:
        email = row.values.get("contact")
        if email:
            if email in found:
                row.item["contact_id"] = found[email]
            else:
                row.fail("contact", _("No contact has the email %(email)s.") % {"email": email})


def full_name(first: str, last: str) -> str:
    """A name from its parts: family name first without a space for Chinese (张 + 伟 → 张伟)."""
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in first + last)
    return f"{last}{first}" if cjk else f"{first} {last}".strip()


def tags_list(row: Row) -> None:
    if isinstance(row.values.get("tags"), str):
        row.item["tags"] = [t.strip() for t in row.values["tags"].replace("，", ",").split(",") if t.strip()]


def bulk_with_retry(service, actor: Actor, items: list[dict]) -> tuple[list, dict[int, list[FieldError]]]:
    """Write ``items`` with an all-or-nothing bulk service; items it rejects are left out and the
    rest written. Returns records aligned with ``items`` (None for rejected ones) and the errors."""
    errors: dict[int, list[FieldError]] = {}
    pending = list(range(len(items)))
    while pending:
        try:
            with transaction.atomic():
                records = service(actor, [items[i] for i in pending]) if pending else []
        except ValidationFailed as failed:
            bad = _by_item(failed.details)
            if not bad:
                raise
            for position, details in bad.items():
                errors[pending[position]] = details
            pending = [i for n, i in enumerate(pending) if n not in bad]
            continue
        result: list = [None] * len(items)
        for i, rec in zip(pending, records, strict=True):
            result[i] = rec
        return result, errors
    return [None] * len(items), errors


def _by_item(details: list[FieldError]) -> dict[int, list[FieldError]]:
    bad: dict[int, list[FieldError]] = {}
    for d in details:
        parts = d.field.split(".", 2)
        if len(parts) >= 3 and parts[0] == "items" and parts[1].isdigit():
            bad.setdefault(int(parts[1]), []).append(FieldError(parts[2], d.message, d.code))
    return bad


def each_with_savepoint(service, actor: Actor, items: list[dict]):
    """Write items one by one (no bulk service for this object), each in a savepoint."""
    records: list = []
    errors: dict[int, list[FieldError]] = {}
    for i, item in enumerate(items):
        try:
            with transaction.atomic():
                records.append(service(actor, **item))
        except ValidationFailed as failed:
            records.append(None)
            errors[i] = list(failed.details)
    return records, errors


def find_by_fields(model, lookups: dict[str, str]) -> Callable[[Actor, str, list], dict]:
    """A ``find`` that matches a key on a plain column (``{"id": "pk", "sku": "sku"}``)."""

    def find(actor: Actor, key: str, values: list) -> dict:
        column = lookups[key]
        if column == "pk":
            values = [int(v) for v in values if str(v).isdigit()]
        qs = readable(actor, model).filter(**{f"{column}__in": values}).order_by("id")
        result: dict = {}
        for rec in qs:
            result.setdefault(plain_key(getattr(rec, column if column != "pk" else "pk")), rec)
        return result

    return find


def plain_key(value: Any) -> str:
    return str(value)


def field_before(rec, item: dict) -> dict:
    """The values an update of ``rec`` with ``item`` changes, as they are now (JSON)."""
    before: dict[str, Any] = {}
    for key, value in item.items():
        if key == "custom":
            current = rec.custom or {}
            before["custom"] = {k: current.get(k) for k in value}
        elif key in ("phones", "emails", "tags", "lines", "accounts"):
            continue
        elif hasattr(rec, key):
            before[key] = plain(getattr(rec, key))
    return before


# --- accounts and contacts -------------------------------------------------------------------------


def _point_find(model, kind_field: str):
    def find(actor: Actor, key: str, values: list) -> dict:
        from kehu.customers.bulk import owners_by_points

        if key == "id":
            return find_by_fields(model, {"id": "pk"})(actor, key, values)
        owner = "account_id" if model.__name__ == "Account" else "contact_id"
        # One index probe per value: a plain ``value IN (…)`` is planned on the trigram index.
        ids = owners_by_points(actor.workspace.pk, key, values, owner)
        records = visible(actor, model.objects.filter(pk__in=set(ids.values()))).in_bulk()
        return {value: records[pk] for value, pk in ids.items() if pk in records}

    return find


def _people_prepare(kind: str):
    def prepare(batch: Batch) -> None:
        object_type = f"customers.{kind}"
        for row in batch.rows:
            values = row.values
            item = split_values(row)
            for virtual in ("first_name", "last_name", "mobile", "account", "owner", "tags"):
                item.pop(virtual, None)
            if not values.get("name") and (values.get("first_name") or values.get("last_name")):
                item["name"] = full_name(values.get("first_name") or "", values.get("last_name") or "")
            if values.get("mobile"):
                phones = []
                if values.get("phone"):
                    phones.append({"value": values["phone"], "label": "work", "is_primary": True})
                phones.append(
                    {"value": values["mobile"], "label": "mobile", "is_primary": not values.get("phone")}
                )
                item.pop("phone", None)
                item["phones"] = phones
            row.item = item
            tags_list(row)
        resolve_users(batch, user_keys(batch, object_type))
        if kind == "contact":
            resolve_accounts(batch, create_missing=batch.options.get("create_accounts", True))

    return prepare


def _people_before(rec, item: dict) -> dict:
    from kehu.customers.services import contact_points, tags_of

    before = field_before(rec, item)
    if {"phone", "email", "phones", "emails"} & item.keys():
        before.update(contact_points(rec))
        before.pop("phone", None)
        before.pop("email", None)
    if "tags" in item:
        before["tags"] = tags_of(rec)
    return before


def register_builtin_targets() -> None:
    from kehu.activities import services as activity_services
    from kehu.activities.models import Activity
    from kehu.commerce import services as commerce
    from kehu.commerce.models import Order, Product
    from kehu.customers import services as customers
    from kehu.customers.models import Account, Contact

    def account_fields() -> list[TargetField]:
        return [
            TargetField("name", gettext_lazy("Name"), required=True, max_length=200),
            TargetField("name_en", gettext_lazy("Latin name"), max_length=200),
            TargetField("kind", gettext_lazy("Kind"), "choice", choices=choices_of(Account, "kind")),
            TargetField("industry", gettext_lazy("Industry"), max_length=100),
            TargetField("size", gettext_lazy("Size"), "choice", choices=choices_of(Account, "size")),
            TargetField("source", gettext_lazy("Source"), max_length=100),
            TargetField("status", gettext_lazy("Status"), "choice", choices=choices_of(Account, "status")),
            TargetField("website", gettext_lazy("Website"), max_length=200),
            TargetField("phone", gettext_lazy("Phone"), "phone"),
            TargetField("email", gettext_lazy("Email"), "email"),
            TargetField("country", gettext_lazy("Country"), max_length=2),
            TargetField("province", gettext_lazy("Province / state"), max_length=100),
            TargetField("city", gettext_lazy("City"), max_length=100),
            TargetField("district", gettext_lazy("District"), max_length=100),
            TargetField("street", gettext_lazy("Street"), max_length=300),
            TargetField("postcode", gettext_lazy("Postcode"), max_length=20),
            TargetField("description", gettext_lazy("Description"), "long_text"),
            TargetField("owner", gettext_lazy("Owner (member's email)"), "email"),
            TargetField("tags", gettext_lazy("Tags (comma-separated)")),
        ]

    def contact_fields() -> list[TargetField]:
        return [
            TargetField("name", gettext_lazy("Name"), required=True, max_length=200),
            TargetField("first_name", gettext_lazy("First name"), max_length=100),
            TargetField("last_name", gettext_lazy("Last name"), max_length=100),
            TargetField("name_en", gettext_lazy("Latin name"), max_length=200),
            TargetField("account", gettext_lazy("Account (name)"), "ref", max_length=200),
            TargetField("job_title", gettext_lazy("Job title"), max_length=100),
            TargetField("department", gettext_lazy("Department"), max_length=100),
            TargetField("email", gettext_lazy("Email"), "email"),
            TargetField("phone", gettext_lazy("Phone"), "phone"),
            TargetField("mobile", gettext_lazy("Mobile"), "phone"),
            TargetField(
                "preferred_channel",
                gettext_lazy("Preferred channel"),
                "choice",
                choices=choices_of(Contact, "preferred_channel"),
            ),
            TargetField("preferred_language", gettext_lazy("Preferred language"), max_length=10),
            TargetField("birthday", gettext_lazy("Birthday"), "date"),
            TargetField("consent_email", gettext_lazy("Agrees to marketing email"), "bool"),
            TargetField("consent_sms", gettext_lazy("Agrees to marketing SMS"), "bool"),
            TargetField("consent_phone", gettext_lazy("Agrees to marketing calls"), "bool"),
            TargetField("owner", gettext_lazy("Owner (member's email)"), "email"),
            TargetField("tags", gettext_lazy("Tags (comma-separated)")),
        ]

    def restore_person(update):
        def restore(actor: Actor, rec, before: dict) -> None:
            update(actor, rec, **before)

        return restore

    register_target(
        Target(
            key="accounts",
            label=gettext_lazy("Accounts"),
            object_type=Account.object_type,
            model=Account,
            base_fields=account_fields,
            match_keys=("id", "email", "phone"),
            prepare=_people_prepare("account"),
            create=lambda actor, items: bulk_with_retry(customers.bulk_create_accounts, actor, items),
            update=lambda actor, rec, item: customers.update_account(actor, rec, **item),
            delete=customers.delete_account,
            delete_many=customers.delete_accounts,
            find=_point_find(Account, "account"),
            before=_people_before,
            restore=restore_person(customers.update_account),
            duplicate_keys=("email", "phone"),
            statistics=("customers.ContactPoint", "customers.Account"),
        )
    )
    register_target(
        Target(
            key="contacts",
            label=gettext_lazy("Contacts"),
            object_type=Contact.object_type,
            model=Contact,
            base_fields=contact_fields,
            match_keys=("id", "email", "phone"),
            prepare=_people_prepare("contact"),
            create=lambda actor, items: bulk_with_retry(customers.bulk_create_contacts, actor, items),
            update=lambda actor, rec, item: customers.update_contact(actor, rec, **item),
            delete=customers.delete_contact,
            delete_many=customers.delete_contacts,
            find=_point_find(Contact, "contact"),
            before=_people_before,
            restore=restore_person(customers.update_contact),
            duplicate_keys=("email", "phone"),
            statistics=("customers.ContactPoint", "customers.Contact", "customers.Account"),
        )
    )

    # --- products -------------------------------------------------------------------------------

    def product_fields() -> list[TargetField]:
        return [
            TargetField("sku", gettext_lazy("SKU"), required=True, max_length=64),
            TargetField("name", gettext_lazy("Name"), required=True, max_length=200),
            TargetField("category", gettext_lazy("Category"), max_length=100),
            TargetField("unit_price", gettext_lazy("Unit price"), "money"),
            TargetField("unit_cost", gettext_lazy("Unit cost"), "money"),
            TargetField("currency", gettext_lazy("Currency"), max_length=3),
            TargetField("active", gettext_lazy("Active"), "bool"),
            TargetField("description", gettext_lazy("Description"), "long_text"),
        ]

    def product_prepare(batch: Batch) -> None:
        for row in batch.rows:
            row.item = split_values(row)
            if row.item.get("currency"):
                row.item["currency"] = str(row.item["currency"]).upper()
        resolve_users(
            batch, [f.key for f in custom_fields(batch.actor, Product.object_type) if f.kind == "user"]
        )

    register_target(
        Target(
            key="products",
            label=gettext_lazy("Products"),
            object_type=Product.object_type,
            model=Product,
            base_fields=product_fields,
            match_keys=("id", "sku"),
            prepare=product_prepare,
            create=lambda actor, items: each_with_savepoint(commerce.create_product, actor, items),
            update=lambda actor, rec, item: commerce.update_product(actor, rec, **item),
            delete=commerce.delete_product,
            find=find_by_fields(Product, {"id": "pk", "sku": "sku"}),
            before=field_before,
            restore=lambda actor, rec, before: commerce.update_product(actor, rec, **before),
            duplicate_keys=("sku",),
            statistics=("commerce.Product",),
        )
    )

    # --- orders with lines ----------------------------------------------------------------------

    def order_fields() -> list[TargetField]:
        return [
            TargetField("number", gettext_lazy("Order number"), max_length=40),
            TargetField("external_id", gettext_lazy("External ID"), max_length=100),
            TargetField("account", gettext_lazy("Account (name)"), "ref", required=True, max_length=200),
            TargetField("contact", gettext_lazy("Contact (email)"), "email"),
            TargetField("order_date", gettext_lazy("Order date"), "date"),
            TargetField("status", gettext_lazy("Status"), "choice", choices=choices_of(Order, "status")),
            TargetField("currency", gettext_lazy("Currency"), max_length=3),
            TargetField("discount", gettext_lazy("Order discount"), "money"),
            TargetField("notes", gettext_lazy("Notes"), "long_text"),
            TargetField("owner", gettext_lazy("Owner (member's email)"), "email"),
            TargetField("line.sku", gettext_lazy("Line: product SKU"), max_length=64),
            TargetField("line.description", gettext_lazy("Line: description"), max_length=300),
            TargetField("line.quantity", gettext_lazy("Line: quantity"), "number"),
            TargetField("line.unit_price", gettext_lazy("Line: unit price"), "money"),
            TargetField("line.unit_cost", gettext_lazy("Line: unit cost"), "money"),
            TargetField("line.discount", gettext_lazy("Line: discount"), "money"),
        ]

    def order_prepare(batch: Batch) -> None:
        for row in batch.rows:
            item = split_values(row)
            for virtual in ("account", "contact", "owner"):
                item.pop(virtual, None)
            if item.get("currency"):
                item["currency"] = str(item["currency"]).upper()
            lines = [
                {k.removeprefix("line."): v for k, v in values.items() if k.startswith("line.")}
                for _n, values in row.lines
            ]
            lines = [line for line in lines if line]
            if lines:
                item["lines"] = lines
            row.item = item
        resolve_users(batch, user_keys(batch, Order.object_type))
        resolve_accounts(batch, create_missing=False)
        resolve_contacts_by_email(batch)

    def order_before(rec, item: dict) -> dict:
        before = field_before(rec, item)
        if "lines" in item:
            before["lines"] = [
                {
                    "product_id": line.product_id,
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unit_price": str(line.unit_price),
                    "unit_cost": str(line.unit_cost),
                    "discount": str(line.discount),
                }
                for line in rec.lines.all()
            ]
        return before

    register_target(
        Target(
            key="orders",
            label=gettext_lazy("Orders with lines"),
            object_type=Order.object_type,
            model=Order,
            base_fields=order_fields,
            match_keys=("id", "external_id", "number"),
            prepare=order_prepare,
            create=lambda actor, items: bulk_with_retry(commerce.bulk_create_orders, actor, items),
            update=lambda actor, rec, item: commerce.update_order(actor, rec, **item),
            delete=commerce.delete_order,
            find=find_by_fields(Order, {"id": "pk", "external_id": "external_id", "number": "number"}),
            before=order_before,
            restore=lambda actor, rec, before: commerce.update_order(actor, rec, **before),
            group_by=("external_id", "number"),
            duplicate_keys=("external_id", "number"),
            statistics=("commerce.Order",),
        )
    )

    # --- activities -----------------------------------------------------------------------------

    def activity_fields() -> list[TargetField]:
        return [
            TargetField(
                "kind", gettext_lazy("Kind"), "choice", required=True, choices=choices_of(Activity, "kind")
            ),
            TargetField(
                "direction", gettext_lazy("Direction"), "choice", choices=choices_of(Activity, "direction")
            ),
            TargetField("occurred_at", gettext_lazy("Time"), "datetime"),
            TargetField("duration", gettext_lazy("Duration (seconds)"), "number"),
            TargetField("subject", gettext_lazy("Subject"), max_length=200),
            TargetField("body", gettext_lazy("Notes"), "long_text"),
            TargetField("outcome", gettext_lazy("Outcome"), max_length=200),
            TargetField("contact", gettext_lazy("Contact (email)"), "email"),
            TargetField("account", gettext_lazy("Account (name)"), "ref", max_length=200),
            TargetField("owner", gettext_lazy("Owner (member's email)"), "email"),
        ]

    def activity_prepare(batch: Batch) -> None:
        for row in batch.rows:
            item = split_values(row)
            item.pop("custom", None)
            for virtual in ("account", "contact", "owner"):
                item.pop(virtual, None)
            if item.get("duration") is not None:
                try:
                    item["duration"] = int(Decimal(item["duration"]))
                except ArithmeticError:
                    row.fail("duration", _("Enter whole seconds."))
            row.item = item
        resolve_users(batch)
        resolve_accounts(batch, create_missing=False)
        resolve_contacts_by_email(batch)
        for row in batch.rows:
            links = []
            if "account_id" in row.item:
                links.append((Account.object_type, row.item.pop("account_id")))
            if "contact_id" in row.item:
                links.append((Contact.object_type, row.item.pop("contact_id")))
            row.item["links"] = links
            row.item["source"] = Activity.Source.IMPORT

    register_target(
        Target(
            key="activities",
            label=gettext_lazy("Activities"),
            object_type=Activity.object_type,
            model=Activity,
            base_fields=activity_fields,
            match_keys=("id",),
            prepare=activity_prepare,
            create=lambda actor, items: each_with_savepoint(activity_services.log_activity, actor, items),
            update=lambda actor, rec, item: activity_services.update_activity(actor, rec, **item),
            delete=activity_services.delete_activity,
            find=find_by_fields(Activity, {"id": "pk"}),
            before=field_before,
            restore=lambda actor, rec, before: activity_services.update_activity(actor, rec, **before),
        )
    )
