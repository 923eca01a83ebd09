"""``kehu bench generate`` at a tiny scale: deterministic, complete rows, indexes restored."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django_scopes import scopes_disabled

from kehu.customers.models import Account, AccountContact, Contact, ContactPoint
from kehu.customers.queries import contacts_for
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership

pytestmark = pytest.mark.django_db


def index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {
            name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["index"]
        }


def test_generate_writes_searchable_consistent_data_and_keeps_the_indexes():
    before = index_names(Contact._meta.db_table)
    out = io.StringIO()
    call_command(
        "bench",
        "generate",
        "--contacts",
        "300",
        "--activities-per-contact",
        "2",
        "--workspace",
        "b1",
        stdout=out,
    )
    assert "rows/s" in out.getvalue()
    assert index_names(Contact._meta.db_table) == before
    with scopes_disabled():
        assert Contact.objects.filter(workspace__slug="b1").count() == 300
        assert Account.objects.filter(workspace__slug="b1").count() == 60
        contact = (
            Contact.objects.filter(workspace__slug="b1", name_pinyin="wangwei").first()
            or Contact.objects.first()
        )
        assert contact.phone.startswith("+") and contact.email == contact.email.lower()
        assert ContactPoint.objects.filter(
            contact=contact, kind="phone", value=contact.phone, is_primary=True
        ).exists()
        assert AccountContact.objects.filter(
            contact=contact, account_id=contact.account_id, is_primary=True
        ).exists()
        admin = Membership.objects.select_related("user", "role", "workspace").get(
            user__email="admin@b1.test"
        )
    from django_scopes import scope

    with scope(workspace=admin.workspace):
        # The generated rows are found like rows written by the services.
        assert contact in contacts_for(Actor(admin), contact.name)
        assert contact in contacts_for(Actor(admin), contact.email.upper())


def test_generate_is_deterministic():
    for slug in ("d1", "d2"):
        call_command(
            "bench",
            "generate",
            "--contacts",
            "100",
            "--activities-per-contact",
            "0",
            "--orders-per-account",
            "0",
            "--workspace",
            slug,
            stdout=io.StringIO(),
        )
    with scopes_disabled():
        rows = [
            list(
                Contact.objects.filter(workspace__slug=slug)
                .order_by("pk")
                .values_list("name", "phone", "email")
            )
            for slug in ("d1", "d2")
        ]
    assert rows[0] == rows[1] and len(rows[0]) == 100
