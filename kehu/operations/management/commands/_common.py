"""Helpers shared by the ``kehu`` administration commands (not a command itself: leading underscore)."""

import getpass
import secrets
import sys
import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from kehu.core.errors import DomainError
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership, Workspace


def get_workspace(slug: str) -> Workspace:
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise CommandError(_("No workspace with the short name %(slug)s.") % {"slug": slug})
    return workspace


def owner_actor(workspace: Workspace) -> Actor:
    """The actor the command line acts as: the workspace's first active owner (so writes are audited)."""
    with scopes_disabled():
        membership = (
            Membership.objects.select_related("workspace", "user", "role")
            .filter(workspace=workspace, role__key="owner", is_active=True, user__is_active=True)
            .order_by("created_at", "id")
            .first()
        )
    if membership is None:
        raise CommandError(_("Workspace %(slug)s has no active owner.") % {"slug": workspace.slug})
    return Actor(membership)


def in_scope(workspace: Workspace):
    return scope(workspace=workspace)


def domain_errors(exc: DomainError) -> CommandError:
    """A service's domain error as a command error naming each bad field."""
    lines = [str(exc.message)] + [f"  {d.field}: {d.message}" for d in exc.details]
    return CommandError("\n".join(lines))


def choose_password(given: str | None, user=None, *, interactive: bool) -> tuple[str, bool]:
    """``(password, generated)``: the given one (checked against the policy), a prompted one, or a new one."""
    if given is None and interactive and sys.stdin.isatty():
        given = getpass.getpass(_("Password: "))
        if given != getpass.getpass(_("Password (again): ")):
            raise CommandError(_("The two passwords do not match."))
    if not given:
        return secrets.token_urlsafe(12), True
    try:
        validate_password(given, user)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from None
    return given, False


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table that lines up with Chinese text too."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])
