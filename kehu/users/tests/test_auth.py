"""Login, throttling, logout, password change and reset, and the language choice."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from conftest import PASSWORD
from kehu.audit.models import AuditEntry
from kehu.users.models import User

LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _clear_cache(db):
    cache.clear()
    yield
    cache.clear()


def login(client, email, password=PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password})


def entries(**filters):
    with scopes_disabled():
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


def test_login_page_has_stable_field_ids(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_username"' in html and 'id="id_password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_login_success_redirects_home_and_is_audited_in_the_users_workspace(client, tenant):
    response = login(client, "sales@acme.test")
    assert response.status_code == 302 and response.url == reverse("web:home")
    assert client.get("/").status_code == 200
    logins = entries(action="login", actor=tenant.users["sales"])
    assert [e.workspace_id for e in logins] == [tenant.workspace.pk]
    assert logins[0].ip_address == "127.0.0.1"


def test_login_is_case_insensitive_on_email(client, tenant):
    assert login(client, "Sales@ACME.test").status_code == 302


def test_wrong_password_shows_error_and_counts_the_failure(client, tenant):
    response = login(client, "sales@acme.test", "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct email and password." in response.content.decode()
    user = User.objects.get(email="sales@acme.test")
    assert user.failed_login_count == 1
    assert entries(action="login_failed", actor=user)[0].changes["reason"] == [None, "wrong_password"]
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_SECONDS=600)
def test_account_locks_after_max_failures_even_for_the_right_password(client, tenant):
    for _ in range(3):
        login(client, "sales@acme.test", "wrong-password")
    user = User.objects.get(email="sales@acme.test")
    assert user.is_locked()
    assert timedelta(seconds=590) < user.locked_until - timezone.now() <= timedelta(seconds=600)
    locked = entries(action="locked", actor=user)
    assert len(locked) == 1 and locked[0].workspace_id == tenant.workspace.pk

    response = login(client, "sales@acme.test", PASSWORD)
    assert response.status_code == 200
    assert "This account is locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert entries(action="login_failed", actor=user)[-1].changes["reason"] == [None, "locked"]


@override_settings(LOGIN_MAX_FAILURES=2)
def test_lock_runs_out_and_success_resets_the_counter(client, tenant):
    login(client, "sales@acme.test", "wrong-password")
    login(client, "sales@acme.test", "wrong-password")
    user = User.objects.get(email="sales@acme.test")
    assert user.is_locked()
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))

    assert login(client, "sales@acme.test").status_code == 302
    user.refresh_from_db()
    assert user.failed_login_count == 0 and user.locked_until is None


@override_settings(LOGIN_MAX_FAILURES=3)
def test_success_before_the_limit_resets_the_count(client, tenant):
    login(client, "sales@acme.test", "wrong-password")
    login(client, "sales@acme.test", "wrong-password")
    assert login(client, "sales@acme.test").status_code == 302
    client.logout()
    login(client, "sales@acme.test", "wrong-password")
    user = User.objects.get(email="sales@acme.test")
    assert user.failed_login_count == 1 and not user.is_locked()


@override_settings(LOGIN_IP_MAX_FAILURES=3)
def test_unknown_emails_are_capped_per_address(client, tenant):
    for i in range(3):
        response = login(client, f"nobody{i}@example.com", "whatever-pass")
        assert "Please enter a correct email and password." in response.content.decode()
    failures = entries(action="login_failed", workspace=None)
    assert len(failures) == 3 and failures[0].actor_label == "nobody0@example.com"
    # The address is now refused for every email, the right password included.
    response = login(client, "sales@acme.test")
    assert response.status_code == 200
    assert "Too many failed logins from your address" in response.content.decode()
    # Another address is not affected.
    other = client.__class__(REMOTE_ADDR="10.0.0.9")
    assert login(other, "sales@acme.test").status_code == 302


def test_inactive_user_cannot_log_in(client, tenant):
    User.objects.filter(email="sales@acme.test").update(is_active=False)
    response = login(client, "sales@acme.test")
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_logout_is_post_only_and_audited(client, tenant):
    client.force_login(tenant.users["admin"])
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response.url == reverse("users:login")
    assert "_auth_user_id" not in client.session
    assert len(entries(action="logout", actor=tenant.users["admin"])) == 1


def test_pages_need_login(client, db):
    for url in ["/", "/me/", "/me/password/", "/search/?q=x", "/settings/members/", "/settings/audit/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/login/?next="), url


def test_password_reset_email_link_sets_a_new_password(client, tenant):
    client.cookies["django_language"] = "en"
    response = client.post("/password-reset/", {"email": "sales@acme.test"})
    assert response.status_code == 302 and response.url == reverse("users:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sales@acme.test"]
    link = re.search(r"https?://[^/]+(/password-reset/\S+/\S+/)", message.body).group(1)

    response = client.get(link)  # Django swaps the token for a session and redirects
    assert response.status_code == 302
    form_url = response.url
    page = client.get(form_url)
    assert page.status_code == 200 and 'name="new_password1"' in page.content.decode()
    # The password policy is shown on the form.
    assert "at least 10 characters" in page.content.decode()

    new = "Brand-new-pass-2027"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302 and response.url == reverse("users:password_reset_complete")
    assert User.objects.get(email="sales@acme.test").check_password(new)
    assert len(entries(action="password_reset", actor=tenant.users["sales"])) == 1
    # The link works once.
    assert "invalid" in client.get(link, follow=True).content.decode()


def test_password_reset_for_unknown_email_sends_nothing_but_looks_the_same(client, db):
    response = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == reverse("users:password_reset_done")
    assert mail.outbox == []


def test_password_reset_clears_a_lock(client, tenant):
    from kehu.users import services

    user = tenant.users["sales"]
    locked_until = timezone.now() + timedelta(hours=1)
    User.objects.filter(pk=user.pk).update(failed_login_count=9, locked_until=locked_until)
    services.record_password_reset(None, user)
    user.refresh_from_db()
    assert not user.is_locked() and user.failed_login_count == 0


def test_password_change_enforces_the_policy_and_is_audited(client, tenant):
    user = tenant.users["sales"]
    User.objects.filter(pk=user.pk).update(language="en")
    client.force_login(user)
    weak = client.post(
        "/me/password/", {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}
    )
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    new = "Another-good-pass-99"
    response = client.post(
        "/me/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    update = entries(action="update", actor=user, object_type="users.user")
    assert update and update[-1].changes == {"password": ["••••••", "••••••"]}


def test_profile_name_change(client, tenant):
    user = tenant.users["sales"]
    client.force_login(user)
    assert client.post("/me/", {"name": "王伟"}).status_code == 302
    user.refresh_from_db()
    assert user.name == "王伟"


def test_language_switch_persists_on_the_user_and_changes_the_page_language(client, tenant):
    user = tenant.users["sales"]
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert '<html lang="en">' in client.get("/").content.decode()

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    user.refresh_from_db()
    assert user.language == "zh-hans"
    assert '<html lang="zh-Hans">' in client.get("/").content.decode()


def test_users_stored_language_wins_over_the_cookie_on_a_new_device(client, tenant):
    user = tenant.users["sales"]
    User.objects.filter(pk=user.pk).update(language="en")
    client.cookies["django_language"] = "zh-hans"
    client.force_login(user)
    assert '<html lang="en">' in client.get("/").content.decode()


def test_unknown_language_is_ignored(client, tenant):
    user = tenant.users["sales"]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""


def test_language_switch_on_login_page_works_anonymously(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get(LOGIN).content.decode()
