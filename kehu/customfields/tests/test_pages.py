"""Settings → Custom fields and custom fields on the account/contact pages (Django test client)."""

import pytest
from django_scopes import scope

from kehu.customers import services as customers
from kehu.customers.models import Account
from kehu.customfields import services
from kehu.customfields.models import FieldDefinition, FieldValueExport

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def define(tenant, key, field_type, object_type=ACCOUNT, **extra):
    with tenant.scope():
        return services.create_definition(
            tenant.actors["owner"],
            object_type=object_type,
            key=key,
            label=key.title(),
            field_type=field_type,
            **extra,
        )


def test_settings_pages_are_for_administrators_only(tenant):
    definition = define(tenant, "tier", "text")
    for role in ("manager", "sales", "readonly"):
        client = tenant.web_client(role)
        for url in (
            "/settings/custom-fields/",
            "/settings/custom-fields/new/?type=customers.account",
            f"/settings/custom-fields/{definition.pk}/",
            f"/settings/custom-fields/{definition.pk}/delete/",
        ):
            assert client.get(url).status_code == 404, (role, url)
        assert client.post(f"/settings/custom-fields/{definition.pk}/archive/").status_code == 404
    admin = tenant.web_client("admin").get("/settings/custom-fields/")
    assert admin.status_code == 200 and "Tier" in admin.content.decode()
    assert 'id="nav-custom-fields"' in admin.content.decode()
    assert 'id="nav-custom-fields"' not in tenant.web_client("sales").get("/").content.decode()


def test_admin_creates_a_field_it_appears_in_the_form_value_saved_and_filtered(tenant):
    admin = tenant.web_client("admin")
    response = admin.post(
        "/settings/custom-fields/new/?type=customers.account",
        {
            "object_type": ACCOUNT,
            "label": "客户等级",
            "key": "grade",
            "field_type": "single_select",
            "choices": "a | A 级\nb | B 级",
            "help_text": "Service level",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    with tenant.scope():
        field = FieldDefinition.objects.get(key="grade")
    assert field.choices == [{"value": "a", "label": "A 级"}, {"value": "b", "label": "B 级"}]

    sales = tenant.web_client("sales")
    form = sales.get("/accounts/new/").content.decode()
    assert 'name="custom__grade"' in form and "A 级" in form
    created = sales.post(
        "/accounts/new/", {"name": "华信", "kind": "company", "status": "active", "custom__grade": "b"}
    )
    assert created.status_code == 302
    with tenant.scope():
        account = Account.objects.get(name="华信")
    assert account.custom == {"grade": "b"}
    page = sales.get(created.url).content.decode()
    assert 'id="custom-fields"' in page and "B 级" in page
    # Edit keeps the value shown and changes it.
    edit = sales.get(f"/accounts/{account.pk}/edit/")
    assert edit.context["form"]["custom__grade"].value() == "b"
    sales.post(
        f"/accounts/{account.pk}/edit/",
        {
            "name": "华信",
            "kind": "company",
            "status": "active",
            "owner_id": tenant.users["sales"].pk,
            "custom__grade": "a",
        },
    )
    account.refresh_from_db()
    assert account.custom == {"grade": "a"}

    with tenant.scope():
        customers.create_account(tenant.actors["sales"], name="Other", custom={"grade": "b"})
    listed = sales.get("/accounts/", {"cf_key": "grade", "cf_op": "eq", "cf_value": "a"})
    assert [a.name for a in listed.context["rows"]] == ["华信"]
    assert 'id="filter-builder"' in listed.content.decode()  # the list toolbar (kehu.listviews)


def test_form_errors_land_on_the_custom_field(tenant):
    define(tenant, "seats", "number", required=True, validation={"min": 1})
    client = tenant.web_client("sales")
    response = client.post(
        "/accounts/new/", {"name": "X", "kind": "company", "status": "active", "custom__seats": "0"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["custom__seats"] == ["Must be at least 1."]
    response = client.post("/accounts/new/", {"name": "X", "kind": "company", "status": "active"})
    assert response.context["form"].errors["custom__seats"] == ["This field is required."]
    with tenant.scope():
        assert not Account.objects.exists()


def test_hidden_fields_are_not_in_forms_or_pages(tenant):
    define(tenant, "margin", "percent", visible_to_roles=["manager"])
    define(tenant, "rating", "number", editable_by_roles=["manager"])
    with tenant.scope():
        account = customers.create_account(
            tenant.actors["owner"],
            name="A",
            owner_id=tenant.users["sales"].pk,
            custom={"margin": 30, "rating": 4},
        )
    sales = tenant.web_client("sales")
    form = sales.get(f"/accounts/{account.pk}/edit/").content.decode()
    assert "custom__margin" not in form and "custom__rating" not in form
    page = sales.get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-custom-key="rating"' in page and 'data-custom-key="margin"' not in page
    # A tampered POST cannot write a field the form did not offer.
    sales.post(
        f"/accounts/{account.pk}/edit/",
        {"name": "A", "kind": "company", "status": "active", "custom__margin": "1", "custom__rating": "1"},
    )
    account.refresh_from_db()
    assert account.custom == {"margin": 30, "rating": 4}
    manager_page = tenant.web_client("admin").get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-custom-key="margin">30 %' in manager_page


def test_columns_are_chosen_per_user_and_kept_in_the_session(tenant, django_assert_max_num_queries):
    define(tenant, "tier", "text")
    define(tenant, "owner_rep", "user")
    with tenant.scope():
        for i in range(5):
            customers.create_account(
                tenant.actors["owner"],
                name=f"A{i}",
                custom={"tier": f"T{i}", "owner_rep": tenant.users["sales"].pk},
            )
    client = tenant.web_client("owner")
    first = client.get("/accounts/", {"columns": "1", "col": ["tier", "owner_rep"]})
    html = first.content.decode()
    assert "<th>Tier</th>" in html and "<td>T3</td>" in html and str(tenant.users["sales"]) in html
    assert [d.key for d in client.get("/accounts/").context["custom_columns"]] == ["tier", "owner_rep"]
    assert tenant.web_client("sales").get("/accounts/").context["custom_columns"] == []
    # The columns cost a fixed number of queries, not one per row.
    with django_assert_max_num_queries(40) as counted:
        client.get("/accounts/")
    baseline = len(counted.captured_queries)
    with tenant.scope():
        for i in range(10):
            customers.create_account(tenant.actors["owner"], name=f"B{i}", custom={"tier": "x"})
    with django_assert_max_num_queries(baseline):
        client.get("/accounts/")


def test_edit_order_archive_and_delete_with_export(tenant):
    one = define(tenant, "one", "text")
    two = define(tenant, "two", "number")
    with tenant.scope():
        customers.create_account(tenant.actors["owner"], name="A", custom={"one": "v1", "two": 2})
    admin = tenant.web_client("admin")
    admin.post(f"/settings/custom-fields/{two.pk}/move/", {"direction": "up"})
    with tenant.scope():
        assert [d.key for d in FieldDefinition.objects.order_by("position")] == ["two", "one"]
    edited = admin.post(
        f"/settings/custom-fields/{one.pk}/",
        {"label": "First", "key": "changed", "field_type": "number", "visible_to_roles": ["manager"]},
    )
    assert edited.status_code == 302
    one.refresh_from_db()
    assert (one.label, one.key, one.field_type, one.visible_to_roles) == ("First", "one", "text", ["manager"])
    admin.post(f"/settings/custom-fields/{one.pk}/archive/")
    one.refresh_from_db()
    assert one.archived_at is not None
    assert "custom__one" not in tenant.web_client("owner").get("/accounts/new/").content.decode()

    confirm = admin.get(f"/settings/custom-fields/{two.pk}/delete/")
    assert confirm.context["count"] == 1
    admin.post(f"/settings/custom-fields/{two.pk}/delete/", {"confirm_key": "wrong"})
    with tenant.scope():
        assert FieldDefinition.objects.filter(pk=two.pk).exists()
    admin.post(f"/settings/custom-fields/{two.pk}/delete/", {"confirm_key": "two"})
    with tenant.scope():
        assert not FieldDefinition.objects.filter(pk=two.pk).exists()
        export = FieldValueExport.objects.get()
        assert Account.objects.get().custom == {"one": "v1"}
    csv_file = admin.get(f"/settings/custom-fields/exports/{export.pk}.csv")
    assert csv_file.status_code == 200 and csv_file.content.decode().splitlines()[1].endswith(",2")
    with tenant.scope():
        account_id = Account.objects.get().pk
    assert export.values == {str(account_id): 2}
    assert admin.get(f"/settings/custom-fields/exports/{export.pk}.json").json()["values"] == export.values


def test_other_workspaces_fields_are_404(tenant, other_tenant):
    with scope(workspace=other_tenant.workspace):
        foreign = services.create_definition(
            other_tenant.actors["owner"], object_type=ACCOUNT, key="secret", label="Secret", field_type="text"
        )
    admin = tenant.web_client("owner")
    assert "Secret" not in admin.get("/settings/custom-fields/").content.decode()
    for url in (f"/settings/custom-fields/{foreign.pk}/", f"/settings/custom-fields/{foreign.pk}/delete/"):
        assert admin.get(url).status_code == 404
    assert admin.post(f"/settings/custom-fields/{foreign.pk}/move/", {"direction": "up"}).status_code == 404
