"""Fixtures of the survey tests: tasks run at once, a contact with an account, a resolved ticket."""

import re

import pytest
from django.test import override_settings


@pytest.fixture
def immediate_tasks():
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}},
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
        SITE_URL="http://testserver",
    ):
        _reset_task_backends()
        yield
    _reset_task_backends()


@pytest.fixture
def customer(tenant):
    """(account, contact) owned by the sales persona; the contact has an email and email consent."""
    from kehu.customers import services

    actor = tenant.actors["owner"]
    with tenant.scope():
        account = services.create_account(actor, name="华东精密机械", owner_id=tenant.users["sales"].pk)
        contact = services.create_contact(
            actor,
            name="王芳",
            email="wang.fang@example.com",
            account_id=account.pk,
            consent_email=True,
            preferred_language="en",
            owner_id=tenant.users["sales"].pk,
        )
    return account, contact


def open_ticket(tenant, contact, subject="Printer jams", **extra):
    from kehu.tickets import services

    return services.open_ticket(
        tenant.actors["service"],
        subject=subject,
        description="It jams on every page.",
        channel="email",
        contact=contact,
        **extra,
    )


def resolve(tenant, ticket):
    from kehu.tickets import services

    services.change_status(tenant.actors["service"], ticket, "resolved")


LINK = re.compile(r"(http://testserver/survey/[\w-]+/[\w-]+/)\?score=(\d+)")


def links_in(message) -> dict[int, str]:
    """score → the one-click URL, from an invitation mail's text."""
    return {int(score): f"{base}?score={score}" for base, score in LINK.findall(message.body)}
