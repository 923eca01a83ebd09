"""Domain errors: a stable code, a translated message and optional field-level details.

Services raise them; the API turns them into the one JSON error shape (see docs/api.md) and the
web views show the message next to the field.
"""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": str(self.message), "code": self.code}


@dataclass
class DomainError(Exception):
    message: str
    code: str = "error"
    status: int = 400
    details: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return str(self.message)


class ValidationFailed(DomainError):
    def __init__(self, details: list[FieldError], message: str = "") -> None:
        from django.utils.translation import gettext

        super().__init__(message or gettext("The data is not valid."), "validation_error", 422, details)


class NotFound(DomainError):
    """Answers the same for a record that does not exist and one the user may not see."""

    def __init__(self, message: str = "") -> None:
        from django.utils.translation import gettext

        super().__init__(message or gettext("Not found."), "not_found", 404)


class PermissionDenied(DomainError):
    def __init__(self, message: str = "") -> None:
        from django.utils.translation import gettext

        super().__init__(
            message or gettext("You do not have permission to do this."), "permission_denied", 403
        )


class Conflict(DomainError):
    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message, "conflict", 409, details or [])
