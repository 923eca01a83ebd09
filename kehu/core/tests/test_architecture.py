"""Architecture rules that keep tenancy and layering true as the code base grows.

Each test walks every model (or module) of the ``kehu.*`` apps and names the offender when a rule
breaks, so a new model cannot forget its workspace, its scoped manager or a workspace-wide
uniqueness, and a lower app cannot start importing a higher one.
"""

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.db.models.expressions import F
from django_scopes import scope
from django_scopes.manager import DisabledQuerySet

from kehu.core.models import OwnedRecord
from kehu.workspaces.permissions import OBJECT_TYPES

# Lower apps first. An app may import its own layer and the layers before it, never a later one.
# A new app must be placed here (the test below fails until it is). audit sits lowest of the
# domain apps because everyone records through kehu.audit.services; it names users and workspaces
# only by string in its foreign keys. users sits above workspaces: login events are recorded in
# each workspace of the user. operations (the `kehu` commands, the demo seed) drives them all.
LAYERS = [
    "core", "audit", "workspaces", "customfields", "listviews", "users", "customers", "activities",
    "commerce", "deals", "quotes", "leads", "scoring", "forecast",
    # service (issue 6) and analytics (issue 7)
    "knowledge", "sla", "tickets", "mailboxes", "bot", "surveys", "analytics", "predictions", "reports",
    "imports", "duplicates", "portability", "web", "operations",
]

# Models that are the tenancy itself, or that belong to no single workspace.
NOT_WORKSPACE_MODELS = {
    "users.User": "a person may belong to several workspaces",
    "workspaces.Workspace": "the tenant itself",
    "core.RequestCounter": "rate-limit counters; their keys name the API key, user, address or workspace",
}

# Field-level ``unique=True`` on workspace models that is deliberately global.
GLOBAL_UNIQUE_FIELDS = {
    "workspaces.ApiKey.prefix": "keys are looked up by prefix before the workspace is known",
    "leads.WebForm.token": "public web-to-lead forms are looked up by token before the workspace is known",
    "predictions.CustomerPrediction.account": "one row per account: the id of the workspace's own account",
}

# Extra managers on workspace models that are deliberately unscoped (none so far).
UNSCOPED_MANAGERS: dict[str, str] = {}

# Imports from a lower app into a higher one that are deliberate, per module, with the reason.
# Everything else that points upwards fails.
ALLOWED_UPWARD_IMPORTS: dict[tuple[str, str], str] = {}

KEHU_ROOT = Path(__file__).resolve().parents[2]
SENTINEL_WORKSPACE_ID = 987654321


def kehu_app_configs():
    return [config for config in apps.get_app_configs() if config.name.startswith("kehu.")]


def kehu_models():
    """Concrete models of kehu apps, without the auto-created many-to-many tables."""
    found = []
    for config in kehu_app_configs():
        for model in config.get_models(include_auto_created=False):
            if not model._meta.abstract and not model._meta.proxy:
                found.append(model)
    return found


def workspace_field(model) -> models.ForeignKey | None:
    try:
        field = model._meta.get_field("workspace")
    except Exception:
        return None
    if isinstance(field, models.ForeignKey) and field.related_model._meta.label == "workspaces.Workspace":
        return field
    return None


def workspace_models():
    return [model for model in kehu_models() if workspace_field(model) is not None]


def test_there_are_models_to_check():
    labels = {model._meta.label for model in kehu_models()}
    assert {"workspaces.Membership", "customers.Account", "customers.Contact"} <= labels
    assert len(workspace_models()) >= 5


def test_every_business_model_belongs_to_a_workspace():
    missing = [
        model._meta.label
        for model in kehu_models()
        if model._meta.label not in NOT_WORKSPACE_MODELS and workspace_field(model) is None
    ]
    assert not missing, (
        f"models without a `workspace` foreign key: {missing}. Inherit kehu.core.models.WorkspaceModel "
        "(or OwnedRecord), or add the model to NOT_WORKSPACE_MODELS with the reason."
    )


def _scoping_problem(model, manager) -> str | None:
    """Why ``manager`` does not scope ``model`` by workspace, or None when it does."""
    with scope():  # a scope with no workspace: a scoped manager must refuse to query
        if not isinstance(manager.get_queryset(), DisabledQuerySet):
            return "answers queries without a workspace scope (not a django-scopes ScopedManager?)"
    with scope(workspace=SENTINEL_WORKSPACE_ID):
        sql = str(manager.get_queryset().query)
        column = model._meta.get_field("workspace").column
        where = sql.partition(" WHERE ")[2]
        if not re.search(rf'\b{column}"? = {SENTINEL_WORKSPACE_ID}\b', where):
            return f"is not filtered on workspace inside scope(workspace=...): WHERE {where or '(none)'}"
    return None


@pytest.mark.parametrize("model", workspace_models(), ids=lambda m: m._meta.label)
def test_workspace_models_are_scoped_by_construction(model):
    problems = []
    for manager in model._meta.managers:
        key = f"{model._meta.label}.{manager.name}"
        if key in UNSCOPED_MANAGERS:
            continue
        problem = _scoping_problem(model, manager)
        if problem:
            problems.append(f"{key} {problem}")
    assert model._meta.default_manager is not None
    assert not problems, "; ".join(problems) + (
        ". Use `objects = ScopedManager(workspace='workspace')` (WorkspaceModel does this)."
    )


def _constraint_fields(constraint: models.UniqueConstraint) -> set[str]:
    names = set(constraint.fields)

    def walk(expression):
        if isinstance(expression, F):
            names.add(expression.name)
        for source in getattr(expression, "get_source_expressions", list)():
            walk(source)

    for expression in constraint.expressions:
        walk(expression)
    return {name.removesuffix("_id") for name in names}


@pytest.mark.parametrize("model", workspace_models(), ids=lambda m: m._meta.label)
def test_uniqueness_is_per_workspace(model):
    label = model._meta.label
    problems = []
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and "workspace" not in _constraint_fields(
            constraint
        ):
            problems.append(f"UniqueConstraint {constraint.name!r}")
    for fields in model._meta.unique_together:
        if "workspace" not in fields:
            problems.append(f"unique_together {tuple(fields)}")
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key and f"{label}.{field.name}" not in GLOBAL_UNIQUE_FIELDS:
            problems.append(f"field {field.name!r} has unique=True")
    assert not problems, (
        f"{label}: uniqueness across all workspaces leaks one company's data into another's "
        f"(a duplicate tells that the value exists elsewhere): {problems}. Include `workspace`."
    )


def test_owned_records_have_a_registered_object_type():
    owned = [model for model in kehu_models() if issubclass(model, OwnedRecord)]
    assert owned, "no OwnedRecord models found"
    problems = [
        f"{model._meta.label} (object_type={model.object_type!r})"
        for model in owned
        if model.object_type not in OBJECT_TYPES
    ]
    assert not problems, (
        f"OwnedRecord models whose object_type is not registered: {problems}. Set `object_type` and "
        "call kehu.workspaces.permissions.register_object_type() in the app's ready()."
    )
    seen: dict[str, str] = {}
    for model in owned:
        other = seen.setdefault(model.object_type, model._meta.label)
        assert other == model._meta.label, f"{model._meta.label} and {other} share {model.object_type!r}"


# --- layering --------------------------------------------------------------------------------------


def test_every_kehu_app_has_a_layer():
    unplaced = [config.label for config in kehu_app_configs() if config.label not in LAYERS]
    assert not unplaced, f"apps not placed in LAYERS (lower apps first): {unplaced}"


def _app_modules(app: str):
    """(module name, path) for an app's code.

    Not part of its layer: tests and migrations. (``kehu/urls.py``, ``kehu/api.py`` and
    ``kehu/cli.py`` wire the apps together and sit outside every app.)
    """
    base = KEHU_ROOT / app
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(base).parts
        if {"tests", "migrations"} & set(parts):
            continue
        module = ".".join(("kehu", app, *path.relative_to(base).with_suffix("").parts))
        yield module.removesuffix(".__init__"), path


def _kehu_imports(module: str, path: Path):
    """(imported kehu app, line) for each import of a kehu module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    type_checking = set()
    for node in ast.walk(tree):
        # Imports only for type checkers never run, so they create no dependency at run time.
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "kehu":
                yield parts[1], node.lineno


def test_lower_apps_never_import_higher_ones():
    rank = {app: index for index, app in enumerate(LAYERS)}
    problems = []
    for app in LAYERS:
        for module, path in _app_modules(app):
            for imported, line in _kehu_imports(module, path):
                if imported not in rank or rank[imported] <= rank[app]:
                    continue
                where = f"{path.relative_to(KEHU_ROOT.parent)}:{line}"
                if (module, imported) in ALLOWED_UPWARD_IMPORTS:
                    continue
                problems.append(f"{where} ({app}) imports kehu.{imported}")
    assert not problems, (
        "a lower app imports a higher one (order: " + " → ".join(LAYERS) + "):\n  " + "\n  ".join(problems)
        + "\nMove the code up, pass the value in, or let the higher app listen to a signal."
    )


def test_the_layering_check_sees_imports():
    """The import scanner finds absolute, relative and function-level imports (guards the guard)."""
    source = KEHU_ROOT / "customers" / "services.py"
    found = {imported for imported, _line in _kehu_imports("kehu.customers.services", source)}
    assert {"audit", "core", "workspaces"} <= found
