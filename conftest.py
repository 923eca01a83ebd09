"""Shared fixtures: two workspaces with one persona per role, and scoped actors.

Tests run with the workspace scope disabled by default (``scopes_disabled`` like pretix's
fixture hook) only where they set up data; code under test runs inside ``scope(...)`` exactly as
requests and tasks do.
"""

import pytest
from django_scopes import scope, scopes_disabled

from kehu.workspaces.permissions import SYSTEM_ROLES

PASSWORD = "Kehu-test-pass-2026"


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Pages render `{% static %}` without a collectstatic manifest (production uses one)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def make_user(db):
    from kehu.users.models import User

    def make(email: str, **fields) -> User:
        name = fields.pop("name", email)
        return User.objects.create_user(email=email, password=PASSWORD, name=name, **fields)

    return make


def _build_workspace(make_user, slug: str, name: str):
    from kehu.workspaces.models import Membership, Role
    from kehu.workspaces.services import actor_for, create_workspace

    owner = make_user(f"owner@{slug}.test")
    workspace = create_workspace(name, owner, slug=slug)
    people = {"owner": owner}
    with scope(workspace=workspace):
        for key in SYSTEM_ROLES:
            if key == "owner":
                continue
            user = make_user(f"{key}@{slug}.test")
            Membership.objects.create(workspace=workspace, user=user, role=Role.objects.get(key=key))
            people[key] = user
        actors = {key: actor_for(user, workspace) for key, user in people.items()}
    return workspace, people, actors


class Tenant:
    """A workspace with one user (and actor) per system role: ``tenant.actors["sales"]``."""

    def __init__(self, workspace, users, actors):
        self.workspace, self.users, self.actors = workspace, users, actors

    def scope(self):
        return scope(workspace=self.workspace)

    def api_client(self, role: str):
        """A test client that authenticates with a new API key of the ``role`` persona."""
        from django.test import Client

        from kehu.workspaces.services import create_api_key

        with self.scope():
            _key, raw = create_api_key(self.actors[role], f"{role} key")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def web_client(self, role: str):
        """A test client logged in (browser session) as the ``role`` persona."""
        from django.test import Client

        client = Client()
        assert client.login(username=self.users[role].email, password=PASSWORD)
        return client


@pytest.fixture
def tenant(db, make_user) -> Tenant:
    with scopes_disabled():
        return Tenant(*_build_workspace(make_user, "acme", "Acme 示例公司"))


@pytest.fixture
def other_tenant(db, make_user) -> Tenant:
    with scopes_disabled():
        return Tenant(*_build_workspace(make_user, "globex", "Globex"))
