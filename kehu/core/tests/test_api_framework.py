"""The API framework: authentication, the error shape, pagination, rate limits, OpenAPI and docs."""

import hashlib
import json

import pytest
from django.test import Client, override_settings
from django_scopes import scopes_disabled
from ninja.testing import TestClient

from kehu.core.api import KehuAPI, decode_cursor, encode_cursor, keyset_page
from kehu.workspaces import services
from kehu.workspaces.models import ApiKey, Team

API = "/api/v1"


def make_key(tenant, role="admin", name="test key") -> tuple[ApiKey, str]:
    with tenant.scope():
        return services.create_api_key(tenant.actors[role], name)


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# --- authentication --------------------------------------------------------------------------------


def test_no_credentials_is_401_not_authenticated(tenant):
    response = Client().get(f"{API}/me")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("raw", ["nonsense", "kehu_deadbeef_not-a-real-secret", ""])
def test_unknown_key_is_401_invalid_api_key(tenant, raw):
    assert_error(Client().get(f"{API}/me", **bearer(raw)), 401, "invalid_api_key")


def test_wrong_secret_with_a_real_prefix_is_refused(tenant):
    _key, raw = make_key(tenant)
    forged = raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")
    assert_error(Client().get(f"{API}/me", **bearer(forged)), 401, "invalid_api_key")


def test_revoked_key_is_401(tenant):
    key, raw = make_key(tenant)
    assert Client().get(f"{API}/me", **bearer(raw)).status_code == 200
    with tenant.scope():
        services.revoke_api_key(tenant.actors["admin"], key)
    assert_error(Client().get(f"{API}/me", **bearer(raw)), 401, "invalid_api_key")


def test_key_works_and_records_last_use(tenant):
    key, raw = make_key(tenant, "sales")
    assert key.last_used_at is None
    response = Client().get(f"{API}/me", **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == tenant.users["sales"].email
    assert body["workspace"]["slug"] == "acme"
    assert body["api_key_prefix"] == key.prefix
    with scopes_disabled():
        assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_keys_are_stored_hashed_only(tenant):
    key, raw = make_key(tenant)
    with scopes_disabled():
        row = ApiKey.objects.filter(pk=key.pk).values().get()
        from kehu.audit.models import AuditEntry

        audit_text = json.dumps(list(AuditEntry.objects.values("changes", "object_repr")))
    assert row["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert all(raw not in str(value) for value in row.values())
    secret_part = raw.split("_", 2)[2]  # kehu_<prefix>_<secret>; the secret may itself contain "_"
    assert secret_part not in audit_text


def test_session_works_and_unsafe_methods_need_csrf(tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.users["admin"])
    assert client.get(f"{API}/me").status_code == 200
    refused = client.post(f"{API}/teams", {"name": "Nord"}, content_type="application/json")
    assert_error(refused, 403, "csrf_failed")
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else None
    if token is None:  # the GET above may not have set it: ask Django for one
        from django.middleware.csrf import _get_new_csrf_string

        token = _get_new_csrf_string()
        client.cookies["csrftoken"] = token
    accepted = client.post(
        f"{API}/teams", {"name": "Nord"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content


def test_api_key_requests_need_no_csrf(tenant):
    _key, raw = make_key(tenant)
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"{API}/teams", {"name": "Süd"}, content_type="application/json", **bearer(raw))
    assert response.status_code == 201


# --- the error shape -------------------------------------------------------------------------------


@pytest.fixture
def admin_client(tenant):
    _key, raw = make_key(tenant)
    return Client(**bearer(raw))


@pytest.mark.parametrize("body", ['{"name": ', "not json", b"\xff\xfe\x00garbage"])
def test_malformed_json_is_400(admin_client, body):
    response = admin_client.post(f"{API}/teams", body, content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_wrong_types_are_422_with_field_details(admin_client):
    response = admin_client.post(f"{API}/teams", {"name": 5, "members": "x"}, content_type="application/json")
    error = assert_error(response, 422, "validation_error")
    fields = {d["field"]: d for d in error["details"]}
    assert set(fields) == {"name", "members"}
    assert fields["name"]["code"] == "string_type"
    assert all(d["message"] for d in error["details"])


def test_unknown_fields_are_rejected(admin_client):
    response = admin_client.post(
        f"{API}/teams", {"name": "Ost", "colour": "red"}, content_type="application/json"
    )
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == [
        {"field": "colour", "message": error["details"][0]["message"], "code": "extra_forbidden"}
    ]


def test_missing_body_and_non_object_body_are_422(admin_client):
    assert_error(admin_client.post(f"{API}/teams", content_type="application/json"), 422, "validation_error")
    assert_error(
        admin_client.post(f"{API}/teams", "[1, 2]", content_type="application/json"), 422, "validation_error"
    )


def test_wrong_query_and_path_types_are_422(admin_client):
    error = assert_error(admin_client.get(f"{API}/teams?limit=lots"), 422, "validation_error")
    assert error["details"][0]["field"] == "limit"
    error = assert_error(
        admin_client.patch(f"{API}/teams/abc", {}, content_type="application/json"), 422, "validation_error"
    )
    assert error["details"][0]["field"] == "team_id"


def test_body_over_content_length_limit_is_413(admin_client):
    with override_settings(API_MAX_BODY_BYTES=100):
        body = json.dumps({"name": "x" * 500})
        assert_error(
            admin_client.post(f"{API}/teams", body, content_type="application/json"), 413, "request_too_large"
        )


def test_body_that_slips_past_the_middleware_is_413_not_500(admin_client):
    # The middleware passes it (its limit is high) but Django's own upload limit refuses to read it.
    with override_settings(API_MAX_BODY_BYTES=10_000_000, DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        body = json.dumps({"name": "x" * 500})
        assert_error(
            admin_client.post(f"{API}/teams", body, content_type="application/json"), 413, "request_too_large"
        )


def test_chunked_body_without_length_is_411(admin_client):
    response = admin_client.post(
        f"{API}/teams",
        "",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    assert_error(response, 411, "length_required")


def test_unknown_route_and_method_use_the_shape(admin_client):
    assert_error(admin_client.get(f"{API}/no-such-thing"), 404, "not_found")
    assert_error(admin_client.get(f"{API}/teams/1/deep/path"), 404, "not_found")
    assert_error(Client().get(f"{API}/nothing-here"), 404, "not_found")
    response = admin_client.put(f"{API}/workspace", {}, content_type="application/json")
    assert_error(response, 405, "method_not_allowed")
    assert "PATCH" in response["Allow"]


def test_record_of_nobody_is_404(admin_client):
    assert_error(
        admin_client.patch(f"{API}/teams/999999", {"name": "x"}, content_type="application/json"),
        404,
        "not_found",
    )


def test_unexpected_exception_is_500_server_error(db, caplog):
    api = KehuAPI(urls_namespace="test-boom", auth=None)

    @api.get("/boom")
    def boom(request):
        raise RuntimeError("kaboom")

    response = TestClient(api).get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "kaboom" not in response.content.decode()
    assert any("unhandled API error" in r.message for r in caplog.records)


# --- pagination ------------------------------------------------------------------------------------


@pytest.fixture
def many_teams(tenant):
    with tenant.scope():
        for i in range(23):
            services.create_team(tenant.actors["admin"], f"Team {i:02d}")
    return [f"Team {i:02d}" for i in range(23)]


def walk(client, url: str) -> list[dict]:
    items, pages, cursor = [], 0, None
    while True:
        separator = "&" if "?" in url else "?"
        response = client.get(url + (f"{separator}cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 50


def test_walk_all_pages_without_duplicates(admin_client, many_teams):
    items = walk(admin_client, f"{API}/teams?limit=5")
    names = [t["name"] for t in items]
    assert names == sorted(many_teams)
    assert len({t["id"] for t in items}) == 23


def test_descending_and_tie_breaking_ordering(admin_client, many_teams, tenant):
    with scopes_disabled():
        Team.objects.filter(workspace=tenant.workspace).update(created_at="2026-01-01T00:00:00Z")
    items = walk(admin_client, f"{API}/teams?limit=4&ordering=-created_at")
    ids = [t["id"] for t in items]
    assert len(ids) == len(set(ids)) == 23
    assert ids == sorted(ids, reverse=True)  # equal timestamps: the id breaks the tie
    items = walk(admin_client, f"{API}/teams?limit=6&ordering=-name")
    assert [t["name"] for t in items] == sorted(many_teams, reverse=True)


def test_nullable_ordering_field_walks_every_row(tenant):
    with tenant.scope():
        keys = [services.create_api_key(tenant.actors["admin"], f"k{i}")[0] for i in range(7)]
        for i, key in enumerate(keys[:3]):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=f"2026-0{i + 1}-01T00:00:00Z")
        for ordering in ("last_used_at", "-last_used_at"):
            seen, cursor = [], None
            while True:
                rows, cursor = keyset_page(ApiKey.objects.all(), ordering=ordering, limit=2, cursor=cursor)
                seen += [r.pk for r in rows]
                if cursor is None:
                    break
            assert sorted(seen) == sorted(k.pk for k in keys)
            assert len(seen) == len(set(seen))


def test_invalid_cursor_is_400(admin_client, many_teams):
    for cursor in (
        "garbage!!",
        "eyJ4IjoxfQ",
        encode_cursor("-created_at", "2026-01-01", 1),
        encode_cursor("name", "not-a-date", "x"),
    ):
        assert_error(admin_client.get(f"{API}/teams?cursor={cursor}"), 400, "invalid_cursor")
    bad_date = encode_cursor("created_at", "yesterday", 1)
    assert_error(
        admin_client.get(f"{API}/teams?ordering=created_at&cursor={bad_date}"), 400, "invalid_cursor"
    )


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor("-created_at", "2026-01-01T00:00:00+00:00", 7), "-created_at") == (
        "2026-01-01T00:00:00+00:00",
        7,
    )


def test_ordering_outside_the_allow_list_is_422(admin_client):
    error = assert_error(admin_client.get(f"{API}/teams?ordering=key_hash"), 422, "validation_error")
    assert error["details"][0]["field"] == "ordering"


def test_limit_defaults_and_is_capped(admin_client, many_teams):
    with override_settings(API_PAGE_SIZE=10, API_MAX_PAGE_SIZE=20):
        assert len(admin_client.get(f"{API}/teams").json()["items"]) == 10
        assert len(admin_client.get(f"{API}/teams?limit=1000").json()["items"]) == 20
    assert_error(admin_client.get(f"{API}/teams?limit=0"), 422, "validation_error")


# --- rate limits -----------------------------------------------------------------------------------


def test_rate_limit_headers_on_every_response(admin_client):
    for response in (
        admin_client.get(f"{API}/me"),
        admin_client.get(f"{API}/missing"),
        Client().get(f"{API}/me"),
    ):
        assert int(response["RateLimit-Limit"]) > 0
        assert int(response["RateLimit-Remaining"]) >= 0
        assert 0 < int(response["RateLimit-Reset"]) <= 60


@override_settings(API_RATE_LIMIT_PER_KEY=3, API_RATE_LIMIT_PER_WORKSPACE=100, API_RATE_LIMIT_WINDOW=60)
def test_per_key_limit_gives_429_with_retry_after(tenant):
    _key, raw = make_key(tenant)
    client = Client(**bearer(raw))
    remaining = [int(client.get(f"{API}/me")["RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [2, 1, 0]
    response = client.get(f"{API}/me")
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Limit"] == "3"
    # Another key of the same workspace has its own per-key budget.
    _other, other_raw = make_key(tenant, "sales")
    assert Client(**bearer(other_raw)).get(f"{API}/me").status_code == 200


@override_settings(API_RATE_LIMIT_PER_KEY=100, API_RATE_LIMIT_PER_WORKSPACE=4)
def test_per_workspace_limit_is_shared_by_keys(tenant, other_tenant):
    clients = [Client(**bearer(make_key(tenant, role)[1])) for role in ("admin", "sales")]
    statuses = [clients[i % 2].get(f"{API}/me").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    # Another workspace is not affected.
    assert Client(**bearer(make_key(other_tenant)[1])).get(f"{API}/me").status_code == 200


# --- OpenAPI and docs ------------------------------------------------------------------------------


def test_openapi_lists_the_paths(db):
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["version"] == "1"
    for path in (
        "/workspace",
        "/members",
        "/members/{member_id}",
        "/roles",
        "/teams/{team_id}",
        "/api-keys",
        "/audit",
        "/me",
        "/object-types",
    ):
        assert f"{API}{path}" in schema["paths"], path
    assert schema["paths"][f"{API}/teams"]["post"]["responses"]["4XX"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/Error"}
    assert "ErrorInfo" in schema["components"]["schemas"]
    params = {p["name"] for p in schema["paths"][f"{API}/teams"]["get"]["parameters"]}
    assert {"cursor", "limit", "ordering"} <= params


PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@override_settings(STORAGES=PLAIN_STATIC)  # no collectstatic manifest in the test run
def test_docs_page_is_served_without_a_cdn(db):
    response = Client().get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert "/api/v1/openapi.json" in html
