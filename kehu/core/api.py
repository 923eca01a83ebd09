"""The REST API framework every app's endpoints use (conventions in docs/api.md).

- ``KehuAPI``: the NinjaAPI with the one error shape, rate limits on every response and a JSON 404
  for unknown routes.
- ``ActorAuth`` / ``actor_of``: who is calling (resolved earlier by ``WorkspaceMiddleware``).
- ``InputSchema``: the base of every request body; unknown fields are rejected.
- ``keyset``: cursor (keyset) pagination with an allow-listed ``ordering``; the one way to list.
"""

import base64
import binascii
import copy
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import (
    FieldDoesNotExist,
    ObjectDoesNotExist,
    RequestDataTooBig,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PaginationBase, paginate
from ninja.parser import Parser
from ninja.security.base import AuthBase
from ninja.utils import check_csrf
from pydantic import ConfigDict, create_model

from kehu.core.errors import DomainError, FieldError
from kehu.core.ratelimit import client_ip, count_hit, window_start

logger = logging.getLogger("kehu.api")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


# --- errors ----------------------------------------------------------------------------------------


class NotAuthenticated(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("Authentication required: send an API key as 'Authorization: Bearer <key>' or log in."),
            "not_authenticated",
            401,
        )


class InvalidApiKey(DomainError):
    def __init__(self) -> None:
        super().__init__(_("The API key is invalid or has been revoked."), "invalid_api_key", 401)


class CsrfFailed(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("CSRF check failed: send the X-CSRFToken header, or use an API key."), "csrf_failed", 403
        )


class InvalidCursor(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("The cursor is invalid: use next_cursor from the previous page unchanged."),
            "invalid_cursor",
            400,
        )


class MalformedJSON(DomainError):
    def __init__(self) -> None:
        super().__init__(_("The request body is not valid JSON."), "malformed_json", 400)


class RequestTooLarge(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("The request body is larger than %(limit)s bytes.") % {"limit": settings.API_MAX_BODY_BYTES},
            "request_too_large",
            413,
        )


class RateLimited(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _("Too many requests: try again in %(seconds)s seconds.") % {"seconds": retry_after},
            "rate_limited",
            429,
        )
        self.retry_after = retry_after


def error_body(code: str, message: str, details: Sequence[FieldError | dict] = ()) -> dict:
    """The one error shape: ``{"error": {"code", "message", "details": [{field, message, code}]}}``."""
    return {
        "error": {
            "code": code,
            "message": str(message),
            "details": [d.as_dict() if isinstance(d, FieldError) else d for d in details],
        }
    }


def json_error(
    status: int, code: str, message: str, details: Sequence[FieldError | dict] = ()
) -> HttpResponse:
    """An error response built outside ninja's handlers (rate limiter, unknown routes)."""
    return HttpResponse(
        json.dumps(error_body(code, message, details), cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


class ErrorDetail(Schema):
    field: str
    message: str
    code: str


class ErrorInfo(Schema):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorOut(Schema):
    """What every 4xx/5xx answer of the API carries."""

    error: ErrorInfo


# Human texts for pydantic's error types; anything not here keeps pydantic's (English) message.
def _validation_message(err: dict) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind == "string_too_short":
        return _("Must have at least %(n)s characters.") % {"n": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("Must have at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind in {"greater_than_equal", "greater_than"}:
        return _("Must be at least %(n)s.") % {"n": ctx.get("ge", ctx.get("gt"))}
    if kind in {"less_than_equal", "less_than"}:
        return _("Must be at most %(n)s.") % {"n": ctx.get("le", ctx.get("lt"))}
    if kind in {"literal_error", "enum"}:
        return _("Must be one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    if kind == "string_pattern_mismatch":
        return _("The value has the wrong format.")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return _("The value has the wrong type (%(detail)s).") % {"detail": err.get("msg", "")}
    if kind == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return str(err.get("msg", _("The value is not valid.")))


def _field_path(loc: Sequence[Any]) -> str:
    """``("body", "payload", "members", 0)`` → ``members.0``: no source, no body-parameter name."""
    parts = list(loc)
    source = (
        parts.pop(0) if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"} else ""
    )
    # Endpoints name their body parameter "payload" (convention), so it is noise in the path.
    if source == "body" and parts and parts[0] == "payload":
        parts.pop(0)
    return ".".join(str(p) for p in parts) or source or "body"


def validation_details(errors: list[dict]) -> list[dict]:
    return [
        {
            "field": _field_path(e.get("loc", ())),
            "message": _validation_message(e),
            "code": e.get("type", "invalid"),
        }
        for e in errors
    ]


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def install_error_handlers(api: NinjaAPI) -> None:
    """Route every exception an operation can raise to the one error shape."""

    def respond(request, status: int, code: str, message: str, details=()) -> HttpResponse:
        return api.create_response(request, error_body(code, message, details), status=status)

    def on_domain_error(request, exc: DomainError):
        response = respond(request, exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="kehu"'
        return response

    def on_validation_error(request, exc: NinjaValidationError):
        return respond(
            request, 422, "validation_error", _("The data is not valid."), validation_details(exc.errors)
        )

    def on_http_error(request, exc: HttpError):
        # ninja wraps body-parse failures in HttpError(400); our parser's own error is the cause.
        if isinstance(exc.__cause__, DomainError):
            return on_domain_error(request, exc.__cause__)
        if isinstance(exc.__cause__, RequestDataTooBig):
            return on_domain_error(request, RequestTooLarge())
        response = respond(request, exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), str(exc))
        wait = getattr(exc, "wait", None)
        if exc.status_code == 429 and wait is not None:
            response["Retry-After"] = str(math.ceil(wait))
        return response

    def on_not_found(request, exc: Exception):
        return respond(request, 404, "not_found", _("Not found."))

    def on_permission_denied(request, exc: Exception):
        return respond(request, 403, "permission_denied", _("You do not have permission to do this."))

    def on_too_big(request, exc: Exception):
        return on_domain_error(request, RequestTooLarge())

    def on_django_validation(request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            details = [
                {"field": name, "message": str(m), "code": "invalid"}
                for name, errors in exc.message_dict.items()
                for m in errors
            ]
        else:
            details = [{"field": "", "message": str(m), "code": "invalid"} for m in exc.messages]
        return respond(request, 422, "validation_error", _("The data is not valid."), details)

    def on_integrity_error(request, exc: IntegrityError):
        # A unique constraint lost a race with another request: the service's own check passed.
        logger.info("integrity error on %s %s: %s", request.method, request.path, exc)
        return respond(request, 409, "conflict", _("The change conflicts with existing data."))

    def on_unexpected(request, exc: Exception):
        logger.exception("unhandled API error on %s %s", request.method, request.path)
        return respond(
            request, 500, "server_error", _("Something went wrong on our side. It has been logged.")
        )

    api.add_exception_handler(DomainError, on_domain_error)
    api.add_exception_handler(NinjaValidationError, on_validation_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(ObjectDoesNotExist, on_not_found)
    api.add_exception_handler(DjangoPermissionDenied, on_permission_denied)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(DjangoValidationError, on_django_validation)
    api.add_exception_handler(IntegrityError, on_integrity_error)
    api.add_exception_handler(Exception, on_unexpected)


class JSONParser(Parser):
    """Parses JSON bodies; a body that is not JSON is a ``malformed_json`` error, not a 500."""

    def parse_body(self, request: HttpRequest):
        try:
            return json.loads(request.body)
        except RequestDataTooBig:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedJSON() from exc


# --- authentication --------------------------------------------------------------------------------


class ActorAuth(AuthBase):
    """Accepts the request when ``WorkspaceMiddleware`` resolved an actor (API key or session).

    Sessions are cookies a browser sends by itself, so unsafe methods need the CSRF token; API keys
    are exempt (the middleware marks those requests).
    """

    openapi_type = "http"
    openapi_scheme = "bearer"
    csrf = True  # tells ninja's Swagger page to send the CSRF token with session requests

    def __call__(self, request: HttpRequest):
        actor = getattr(request, "actor", None)
        if actor is None:
            if getattr(request, "api_key_presented", False):
                raise InvalidApiKey()
            raise NotAuthenticated()
        if actor.api_key is None and request.method not in SAFE_METHODS and check_csrf(request):
            raise CsrfFailed()
        return actor


def actor_of(request: HttpRequest):
    """The ``Actor`` calling this endpoint (``kehu.workspaces.access.Actor``)."""
    actor = getattr(request, "auth", None) or getattr(request, "actor", None)
    if actor is None:
        raise NotAuthenticated()
    return actor


# --- input schemas ---------------------------------------------------------------------------------


class InputSchema(Schema):
    """Base of every request body: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


def patch_schema(schema: type[InputSchema], name: str, *, required_id: bool = False) -> type[InputSchema]:
    """The PATCH twin of a create schema: the same fields and rules, every one optional.

    Handlers read ``payload.dict(exclude_unset=True)`` so only the fields sent are changed. With
    ``required_id`` the schema also takes the record's ``id`` (for bulk changes).
    """
    fields: dict = {"id": (int, Field(..., description="The record to change"))} if required_id else {}
    for field_name, info in schema.model_fields.items():
        optional = copy.copy(info)  # keeps the constraints (max_length …), drops the default
        optional.default, optional.default_factory = None, None
        fields[field_name] = (info.annotation | None, optional)
    return create_model(name, __base__=InputSchema, **fields)  # type: ignore[call-overload]


# --- keyset pagination -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def encode_cursor(ordering: str, value: Any, pk: Any) -> str:
    raw = json.dumps({"o": ordering, "v": _plain(value), "k": _plain(pk)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: str) -> tuple[Any, Any]:
    """(value, pk) of the row a cursor points after; ``InvalidCursor`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor() from None
    if not isinstance(data, dict) or data.get("o") != ordering or "k" not in data or "v" not in data:
        raise InvalidCursor()
    if not isinstance(data["k"], int | str) or isinstance(data["k"], bool):
        raise InvalidCursor()
    return data["v"], data["k"]


def _attr(item: Any, path: str) -> Any:
    for part in path.split("__"):
        item = getattr(item, part, None) if item is not None else None
    return item


def _nullable(queryset: QuerySet, field: str) -> bool:
    if "__" in field:
        return True  # a related path may be null through the relation itself
    try:
        return queryset.model._meta.get_field(field).null
    except FieldDoesNotExist:
        return True  # an annotation: assume the worst


def keyset_page(
    queryset: QuerySet, *, ordering: str, limit: int, cursor: str | None = None
) -> tuple[list, str | None]:
    """One page of ``queryset`` ordered by ``ordering`` then pk, after ``cursor``; no OFFSET.

    Nulls sort last in both directions so the keyset condition is the same on SQLite and PostgreSQL.
    """
    desc = ordering.startswith("-")
    field = ordering.lstrip("-")
    op = "lt" if desc else "gt"
    pk_order = "-pk" if desc else "pk"
    if field in {"id", "pk"}:
        queryset = queryset.order_by(pk_order)
    else:
        # NULLS LAST only where NULLs can occur: on a NOT NULL column the plain order is the same and
        # matches the (workspace, -created_at, -id) indexes, so PostgreSQL reads the page off the index
        # instead of sorting every row (a DESC NULLS LAST order cannot use a DESC index).
        nulls = {"nulls_last": True} if _nullable(queryset, field) else {}
        expr = F(field).desc(**nulls) if desc else F(field).asc(**nulls)
        queryset = queryset.order_by(expr, pk_order)
    if cursor:
        value, pk = decode_cursor(cursor, ordering)
        try:
            if field in {"id", "pk"}:
                condition = Q(**{f"pk__{op}": pk})
            elif value is None:
                condition = Q(**{f"{field}__isnull": True, f"pk__{op}": pk})
            else:
                condition = Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk})
                if _nullable(queryset, field):
                    condition |= Q(**{f"{field}__isnull": True})
            queryset = queryset.filter(condition)
        except (DjangoValidationError, ValueError, TypeError):
            raise InvalidCursor() from None
    try:
        rows = list(queryset[: limit + 1])
    except (DjangoValidationError, ValueError, TypeError):
        raise InvalidCursor() from None
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = last.pk if field in {"id", "pk"} else _attr(last, field)
        next_cursor = encode_cursor(ordering, value, last.pk)
    return rows, next_cursor


def page_limit(requested: int | None) -> int:
    """The page size: the default when absent, never above ``API_MAX_PAGE_SIZE``."""
    if requested is None:
        return settings.API_PAGE_SIZE
    return max(1, min(requested, settings.API_MAX_PAGE_SIZE))


class KeysetPagination(PaginationBase):
    """ninja paginator: query params ``cursor``, ``limit``, ``ordering`` (allow-listed per endpoint).

    Use through ``@keyset(orderings=("created_at", "name"), default="-created_at")`` under a route
    declared with ``response=list[ItemOut]``; the handler returns a filtered queryset.
    """

    items_attribute = "items"

    class Output(Schema):
        items: list[Any]
        next_cursor: str | None = Field(
            None, description="Pass as ?cursor= to get the next page; null at the end."
        )

    def __init__(self, *, orderings: Sequence[str] = ("created_at",), default: str = "-created_at", **kwargs):
        choices: list[str] = []
        for name in orderings:
            name = name.lstrip("-")
            choices += [name, f"-{name}"]
        if default not in choices:
            raise ValueError(f"default ordering {default!r} is not among {choices}")
        self.default = default
        self.Input = create_model(  # type: ignore[assignment]  # per-endpoint allow-list in the schema
            "KeysetParams",
            __base__=Schema,
            cursor=(
                str | None,
                Field(None, description="Opaque cursor from next_cursor of the previous page."),
            ),
            limit=(
                int | None,
                Field(
                    None,
                    ge=1,
                    description="Items per page (default API_PAGE_SIZE, at most API_MAX_PAGE_SIZE).",
                ),
            ),
            ordering=(Literal[tuple(choices)], Field(default, description="Sort field; '-' for descending.")),
        )
        super().__init__(**kwargs)

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        items, next_cursor = keyset_page(
            queryset,
            ordering=pagination.ordering,
            limit=page_limit(pagination.limit),
            cursor=pagination.cursor,
        )
        return {"items": items, "next_cursor": next_cursor}


def keyset(*, orderings: Sequence[str], default: str) -> Callable:
    """Decorator: cursor-paginate a list endpoint (see ``KeysetPagination``)."""
    return paginate(KeysetPagination, orderings=orderings, default=default)


# --- rate limits -----------------------------------------------------------------------------------


def check_rate_limit(request: HttpRequest) -> tuple[int, int, int, bool]:
    """Count this request; (limit, remaining, reset seconds, exceeded) of the tightest bucket.

    Buckets: the API key (else the session user, else the client address) and the workspace.
    """
    window = max(1, settings.API_RATE_LIMIT_WINDOW)
    now = time.time()
    start = window_start(window, now)
    reset = max(1, math.ceil(start + window - now))
    actor = getattr(request, "actor", None)
    if actor is not None and actor.api_key is not None:
        ident = f"key:{actor.api_key.prefix}"
    elif actor is not None:
        ident = f"user:{actor.user.pk}"
    else:
        ident = f"ip:{client_ip(request) or 'unknown'}"
    buckets = [(f"kehu:rl:{ident}:{start}", settings.API_RATE_LIMIT_PER_KEY)]
    if actor is not None:
        buckets.append((f"kehu:rl:ws:{actor.workspace.pk}:{start}", settings.API_RATE_LIMIT_PER_WORKSPACE))
    tightest = None
    for key, limit in buckets:
        remaining = limit - count_hit(key, window)
        if tightest is None or remaining < tightest[1]:
            tightest = (limit, remaining)
    assert tightest is not None
    limit, remaining = tightest
    return limit, max(0, remaining), reset, remaining < 0


def _chunked_without_length(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not request.META.get(
        "CONTENT_LENGTH"
    )


def rate_limited(view: Callable) -> Callable:
    """Wrap an API view: count the request, refuse over the limit, add ``RateLimit-*`` headers."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        limit, remaining, reset, exceeded = check_rate_limit(request)
        if exceeded:
            exc = RateLimited(reset)
            response = json_error(429, exc.code, exc.message)
            response["Retry-After"] = str(reset)
        elif _chunked_without_length(request):
            # WSGI servers hand Django no body without Content-Length: say so instead of "missing".
            response = json_error(
                411, "length_required", _("Send the request body with a Content-Length header.")
            )
        else:
            response = view(request, *args, **kwargs)
            if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"
            ):
                allowed = response.get("Allow", "")
                response = json_error(405, "method_not_allowed", _("This method is not allowed here."))
                response["Allow"] = allowed
        response["RateLimit-Limit"] = str(limit)
        response["RateLimit-Remaining"] = str(remaining)
        response["RateLimit-Reset"] = str(reset)
        return response

    return wrapped


def unknown_route(request, *args, **kwargs):
    return json_error(404, "not_found", _("There is no API endpoint at this address."))


# --- the API class ---------------------------------------------------------------------------------


class KehuAPI(NinjaAPI):
    """NinjaAPI with Kehu's conventions: one error shape, rate limits, JSON 404 for unknown routes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("auth", ActorAuth())
        kwargs.setdefault("parser", JSONParser())
        super().__init__(**kwargs)
        install_error_handlers(self)

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja's schema plus the error shape, declared as every operation's 4XX/5XX answer."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(error_schema.pop("$defs", {}))
        components["Error"] = error_schema
        error_response = {
            "description": "Error (see docs/api.md for the codes)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["responses"].setdefault("4XX", error_response)
                    operation["responses"].setdefault("5XX", error_response)
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = rate_limited(pattern.callback)
        # Last, so it only answers what no endpoint matched.
        patterns.append(re_path(r"^.*$", rate_limited(unknown_route)))
        return patterns
