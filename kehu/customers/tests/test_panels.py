"""The 360° view renders the panels other apps register, on the page and in the API."""

import pytest

from kehu.customers import services
from kehu.customers.panels import PANELS, Panel, register_panel

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes_panel(tmp_path, settings):
    (tmp_path / "notes_panel.html").write_text(
        '<section id="p-notes">{{ count }} notes for {{ record.name }}</section>'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    register_panel(
        Panel(
            key="notes",
            title="Notes",
            object_types=("customers.account",),
            template="notes_panel.html",
            context=lambda actor, record: None if actor.role.key == "readonly" else {"count": 3},
            data=lambda actor, record: {"count": 3, "viewer": actor.user.email},
        )
    )
    yield
    PANELS.pop("notes")


def test_account_page_and_api_include_registered_panels(notes_panel, tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="Panel Co")
        services.create_contact(tenant.actors["owner"], name="P. Person", account_id=account.pk)
    html = tenant.web_client("owner").get(f"/accounts/{account.pk}/").content.decode()
    assert '<section id="p-notes">3 notes for Panel Co</section>' in html
    readonly_html = tenant.web_client("readonly").get(f"/accounts/{account.pk}/").content.decode()
    assert "p-notes" not in readonly_html  # the panel declined: nothing to show this role

    body = tenant.api_client("owner").get(f"/api/v1/accounts/{account.pk}/360").json()
    assert body["account"]["name"] == "Panel Co"
    assert [c["name"] for c in body["contacts"]] == ["P. Person"]
    assert body["panels"]["notes"] == {"count": 3, "viewer": tenant.users["owner"].email}


def test_360_of_an_invisible_account_is_404(tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="Hidden")
    response = tenant.api_client("sales").get(f"/api/v1/accounts/{account.pk}/360")
    assert response.status_code == 404


def test_tickets_placeholder_is_replaced_by_the_service_desk_panel(tenant):
    """The issue's placeholder (``register_placeholder``) said tickets would show here; the tickets app
    registers its panel under the same key, which replaces it on the page and in the API."""
    with tenant.scope():
        account = services.create_account(tenant.actors["sales"], name="Placeholder Co")
    html = tenant.web_client("sales").get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="panel-tickets"' in html and 'id="panel-scores"' in html
    assert "once the service desk is part of Kehu" not in html
    panels = tenant.api_client("sales").get(f"/api/v1/accounts/{account.pk}/360").json()["panels"]
    assert panels["tickets"]["available"] is True and panels["tickets"]["latest"] == []
