"""Load a workspace export (see docs/export-format.md) into a new or empty workspace, losslessly.

Every row gets a new id. Tables are loaded in the dependency order of the model graph
(``graph.nodes``): a foreign key is rewritten through the remap of its target table, a generic
``(x_type, x_id)`` pair through the remap of the table its type names. References that point
forward (self references, cycles, generic references to a table loaded later) are written in a
second pass. Users are matched by email; missing ones are created inactive, without a password.
Everything runs in one transaction: a failure leaves nothing behind.
"""

import hashlib
import json
import threading
import zipfile
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.db import connection, models, transaction
from django.utils.crypto import get_random_string
from django.utils.dateparse import parse_date, parse_datetime, parse_time
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from kehu.core.errors import Conflict, FieldError, ValidationFailed
from kehu.workspaces.models import Workspace

from .exporter import FORMAT, FORMAT_VERSION
from .graph import Node, nodes

BATCH = 2000
# Tables a freshly created workspace already has rows in: an "empty" target may hold these only;
# they are replaced by the export's.
BOOTSTRAP = ("workspaces.membership", "workspaces.role", "audit.auditentry")
WORKSPACE_TYPE = "workspaces.workspace"
SETTINGS = ("default_region", "base_currency", "default_language", "time_zone")


def _bad(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError("file", message, "invalid")])


class Remap:
    """old id → new id of one table, in two int64 arrays (16 bytes a row instead of a dict's ~100).

    Rows are exported in pk order, so old ids arrive ascending and a lookup is a binary search.
    """

    def __init__(self) -> None:
        self.old, self.new = array("q"), array("q")

    def add(self, old: int, new: int) -> None:
        if self.old and old <= self.old[-1]:
            raise _bad(_("The rows of a table are not in id order."))
        self.old.append(old)
        self.new.append(new)

    def get(self, old: Any) -> int | None:
        try:
            key = int(old)
        except (TypeError, ValueError):
            return None
        i = bisect_left(self.old, key)
        return self.new[i] if i < len(self.old) and self.old[i] == key else None

    def __len__(self) -> int:
        return len(self.old)


_auto_now_lock = threading.Lock()


@contextmanager
def keep_timestamps():
    """Let ``updated_at`` (``auto_now``) keep the exported value while rows are inserted."""
    from django.apps import apps

    with _auto_now_lock:
        patched = [
            f for m in apps.get_models() for f in m._meta.concrete_fields
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        saved = [(f, f.auto_now, f.auto_now_add) for f in patched]
        for f in patched:
            f.auto_now = f.auto_now_add = False
        try:
            yield
        finally:
            for f, now, now_add in saved:
                f.auto_now, f.auto_now_add = now, now_add


def _decoder(f: models.Field) -> Callable[[Any], Any]:
    kind = f.get_internal_type()
    if kind == "DateTimeField":
        return lambda v: parse_datetime(v) if isinstance(v, str) else v
    if kind == "DateField":
        return lambda v: parse_date(v) if isinstance(v, str) else v
    if kind == "TimeField":
        return lambda v: parse_time(v) if isinstance(v, str) else v
    if kind == "BinaryField":
        import base64

        return lambda v: base64.b64decode(v) if isinstance(v, str) else v
    return lambda v: v  # decimals as strings, JSON as JSON: the model field converts them


class Package:
    """An opened export: the manifest checked, every file's checksum verified before anything is written."""

    def __init__(self, source: Path | IO[bytes]):
        try:
            self.zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError):
            raise _bad(_("This is not a workspace export (not a zip file).")) from None
        try:
            self.manifest = json.loads(self.zip.read("manifest.json"))
        except KeyError:
            raise _bad(_("This zip has no manifest.json: it is not a workspace export.")) from None
        except ValueError:
            raise _bad(_("manifest.json is not valid JSON.")) from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise _bad(_("manifest.json does not describe a Kehu workspace export."))
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise _bad(
                _("Unknown export format version %(found)s (this Kehu reads version %(known)s).")
                % {"found": self.manifest.get("format_version"), "known": FORMAT_VERSION}
            )
        self.files = {f["path"]: f for f in self.manifest.get("files", [])}
        self.tables = {f["table"]: f for f in self.files.values() if f.get("kind") == "table"}

    def verify(self) -> None:
        names = set(self.zip.namelist())
        for path, info in self.files.items():
            if path not in names:
                raise _bad(_("The export lacks the file %(path)s named in its manifest.") % {"path": path})
            sha = hashlib.sha256()
            with self.zip.open(path) as stream:
                for chunk in iter(lambda s=stream: s.read(1 << 20), b""):
                    sha.update(chunk)
            if sha.hexdigest() != info.get("sha256"):
                raise _bad(
                    _("Checksum mismatch in %(path)s: the file was changed or damaged.") % {"path": path}
                )
        graph = nodes()
        unknown = sorted(set(self.tables) - set(graph))
        if unknown:
            raise _bad(
                _("The export has tables this Kehu does not know: %(tables)s.")
                % {"tables": ", ".join(unknown)}
            )
        for label, info in self.tables.items():
            known = {f.attname for f in graph[label].fields}
            extra = sorted({f["name"] for f in info["schema"]["fields"]} - known)
            if extra:
                raise _bad(
                    _("Table %(table)s has fields this Kehu does not know: %(fields)s.")
                    % {"table": label, "fields": ", ".join(extra)}
                )

    def lines(self, path: str) -> Iterator[dict]:
        with self.zip.open(path) as stream:
            for raw in stream:
                if raw.strip():
                    yield json.loads(raw)


def _empty_or_new(slug: str) -> Workspace | None:
    """The existing workspace to load into (refused unless empty), or None to create one."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        return None
    graph = nodes()
    with scopes_disabled():
        busy = [
            label for label, node in graph.items()
            if label not in BOOTSTRAP
            and node.model._base_manager.filter(**{node.workspace_path: workspace.pk}).exists()
        ]
    if busy:
        raise Conflict(
            _("Workspace %(slug)s is not empty (it has %(tables)s): import into a new workspace with --slug.")
            % {"slug": slug, "tables": ", ".join(busy[:5])}
        )
    return workspace


class Loader:
    def __init__(self, package: Package, workspace: Workspace, progress: Callable[[int, int], None] | None):
        self.package, self.workspace, self.progress = package, workspace, progress
        self.graph = nodes()
        self.remaps: dict[str, Remap] = defaultdict(Remap)
        self.users: dict[int, int] = {}
        # (table, new pk, attname) → (target table, old value) written after every table is loaded.
        self.deferred: dict[str, list[tuple[int, str, str, Any]]] = defaultdict(list)
        # object type → custom field key → (field type, referenced table)
        self.custom_refs: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        self.parent_types: dict[str, dict[int, str | None]] = {}
        self.columns: dict[str, list[models.Field]] = {}
        self.next_id: dict[str, int] = {}
        self.done = 0
        self.total = sum(int(info.get("rows", 0)) for info in package.tables.values())

    # -- references --

    def target_id(self, target: str, old: Any) -> tuple[bool, Any]:
        """(resolved, new value) of a reference to ``target``'s row ``old``."""
        if old is None or old == "":
            return True, old
        if target == "users.user":
            return True, self.users.get(int(old))
        if target == WORKSPACE_TYPE:
            return True, self.workspace.pk
        new = self.remaps[target].get(old) if target in self.remaps else None
        return (new is not None), new

    # -- users --

    def load_users(self) -> None:
        from kehu.users.models import User

        if "users.jsonl" not in self.package.files:
            return
        for row in self.package.lines("users.jsonl"):
            email = (row.get("email") or "").strip().lower()
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email, password=None, name=row.get("name") or "",
                    language=row.get("language") or "", is_active=False,
                )
            self.users[int(row["id"])] = user.pk

    # -- tables --

    def run(self) -> dict[str, int]:
        self.loaded_tables: set[str] = set()
        self.load_users()
        counts = {}
        with keep_timestamps():
            for label, node in self.graph.items():
                counts[label] = self.load_table(node) if label in self.package.tables else 0
                self.loaded_tables.add(label)
        self.write_deferred()
        return counts

    def load_table(self, node: Node) -> int:
        info = self.package.tables[node.label]
        names = [f["name"] for f in info["schema"]["fields"]]
        fields = {f.attname: f for f in node.fields}
        decoders = {n: _decoder(fields[n]) for n in names}
        unique = [
            f for f in node.fields if f.unique and not f.primary_key and isinstance(f, models.CharField)
        ]
        batch: list[tuple[int, models.Model, list]] = []
        count = 0
        own_workspace = {"workspace_id": self.workspace.pk} if node.workspace_path == "workspace_id" else {}
        for row in self.package.lines(node.file):
            old_pk = row.pop(node.pk)
            values: dict[str, Any] = dict(own_workspace)
            later: list[tuple[str, str, Any]] = []
            for name, raw in row.items():
                value = decoders[name](raw)
                target = node.fks.get(name) or node.id_refs.get(name)
                if target and not target.startswith(("@", "=")):
                    ok, new = self.target_id(target, value)
                    if ok:
                        value = new
                    else:
                        if target == node.label or target not in self.loaded_tables:
                            later.append((name, target, value))
                        if fields[name].is_relation:
                            # Written in the second pass; a row deleted before the export stays empty.
                            value = None
                values[name] = value
            for type_name, id_name in node.generic:
                self._generic(values, type_name, id_name, later)
            for name, target in node.id_refs.items():
                if target.startswith(("@", "=")):
                    self._typed_by_fk(node, values, name, target, later)
            if "custom" in values and isinstance(values["custom"], dict):
                self._custom(node, values, later)
            if node.label == "leads.assignmentrule" and isinstance(values.get("weights"), dict):
                values["weights"] = {  # {"<user id>": weight}
                    str(self.users.get(int(k), k)) if str(k).isdigit() else k: w
                    for k, w in values["weights"].items()
                }
            for name, _target, _old in later:
                f = fields.get(name)
                if f is not None and f.is_relation and not f.null:
                    raise _bad(_("Table %(table)s refers forward through a required field %(field)s.")
                               % {"table": node.label, "field": name})
            batch.append((old_pk, values, later))
            if len(batch) >= BATCH:
                count += self.flush(node, batch, unique)
                batch = []
        if batch:
            count += self.flush(node, batch, unique)
        if node.label == "customfields.fielddefinition":
            self._read_definitions(node)
        return count

    def _generic(self, values: dict, type_name: str, id_name: str, later: list) -> None:
        object_type, old = values.get(type_name), values.get(id_name)
        if old in (None, "") or not object_type:
            return
        label = object_type.lower()
        if label != WORKSPACE_TYPE and label not in self.graph:
            return  # a type this workspace has no table for (kept as exported)
        ok, new = self.target_id(label, old)
        if ok:
            values[id_name] = str(new) if isinstance(old, str) else new
        elif label not in self.loaded_tables:
            later.append((id_name, label, old))
        # else: the record was deleted before the export; the history keeps its old id.

    def _typed_by_fk(self, node: Node, values: dict, name: str, spec: str, later: list) -> None:
        if values.get(name) is None:
            return
        if spec.startswith("="):
            label = str(values.get(spec[1:]) or "").lower()
        else:
            fk, type_field = spec[1:].split(".")
            fk_field = node.model._meta.get_field(fk)
            parent_pk = values.get(fk_field.attname)
            if parent_pk is None:
                return
            cache = self.parent_types.setdefault(spec, {})
            if parent_pk not in cache:
                cache[parent_pk] = fk_field.related_model._base_manager.filter(pk=parent_pk).values_list(
                    type_field, flat=True
                ).first()
            label = (cache[parent_pk] or "").lower()
        if label in self.graph:
            ok, new = self.target_id(label, values[name])
            if ok and new is not None:
                values[name] = new
            elif not ok and label not in self.loaded_tables:
                later.append((name, label, values[name]))

    def _read_definitions(self, node: Node) -> None:
        for object_type, key, kind, options in node.model._base_manager.filter(
            workspace_id=self.workspace.pk, field_type__in=("user", "relation")
        ).values_list("object_type", "key", "field_type", "options"):
            target = (options or {}).get("target", "") if kind == "relation" else "users.user"
            self.custom_refs[object_type][key] = (kind, str(target).lower())

    def _custom(self, node: Node, values: dict, later: list) -> None:
        refs = self.custom_refs.get(getattr(node.model, "object_type", "") or node.label)
        if not refs:
            return
        custom = dict(values["custom"])
        for key, (_kind, target) in refs.items():
            if custom.get(key) in (None, ""):
                continue
            ok, new = self.target_id(target, custom[key])
            if ok:
                custom[key] = new
            elif (target in self.graph and target not in self.loaded_tables) or target == node.label:
                later.append((f"custom.{key}", target, custom[key]))
        values["custom"] = custom

    def flush(self, node: Node, batch: list, unique: list[models.Field]) -> int:
        """Insert a batch with plain ``executemany`` and ids taken from the table's sequence.

        The ORM's ``bulk_create`` spent most of the import compiling SQL and building model
        instances; here each value goes through its field's ``get_db_prep_save`` only.
        """
        rows = [values for _old, values, _later in batch]
        for f in unique:  # globally unique tokens (web form links): kept unless taken on this server
            taken = set(
                node.model._base_manager.filter(**{f"{f.attname}__in": [r.get(f.attname) for r in rows]})
                .values_list(f.attname, flat=True)
            )
            for r in rows:
                if r.get(f.attname) in taken:
                    r[f.attname] = get_random_string(min(f.max_length or 32, 32))
        ids = self.new_ids(node, len(rows))
        columns = self.columns.get(node.label)
        if columns is None:
            columns = self.columns[node.label] = [
                f for f in node.model._meta.concrete_fields if not f.primary_key
            ]
        pk_column = node.model._meta.pk.column
        quote = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - quoted names, no user input
            quote(node.model._meta.db_table),
            ", ".join(quote(c) for c in [pk_column, *(f.column for f in columns)]),
            ", ".join(["%s"] * (len(columns) + 1)),
        )
        params = []
        for new_id, r in zip(ids, rows, strict=True):
            line = [new_id]
            for f in columns:
                value = r[f.attname] if f.attname in r else f.get_default()
                line.append(f.get_db_prep_save(value, connection))
            params.append(line)
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
        remap = self.remaps[node.label]
        for (old_pk, _values, later), new_id in zip(batch, ids, strict=True):
            remap.add(int(old_pk), new_id)
            for name, target, old in later:
                self.deferred[node.label].append((new_id, name, target, old))
        self.done += len(batch)
        if self.progress:
            self.progress(self.done, self.total)
        return len(batch)

    def new_ids(self, node: Node, n: int) -> list[int]:
        """``n`` fresh primary keys: from the sequence on PostgreSQL (reserved, safe with concurrent
        writers); on SQLite the transaction holds the database's write lock, so max + 1 onwards."""
        table = node.model._meta.db_table
        column = node.model._meta.pk.column
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [table, column, n],
                )
                return sorted(row[0] for row in cursor.fetchall())
            if node.label not in self.next_id:
                cursor.execute(
                    f"SELECT MAX({connection.ops.quote_name(column)}) FROM {connection.ops.quote_name(table)}"  # noqa: S608
                )
                top = cursor.fetchone()[0] or 0
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                seq = cursor.fetchone()
                self.next_id[node.label] = max(top, seq[0] if seq else 0) + 1
            start = self.next_id[node.label]
            self.next_id[node.label] = start + n
            return list(range(start, start + n))

    def write_deferred(self) -> None:
        for label, items in self.deferred.items():
            node = self.graph[label]
            manager = node.model._base_manager
            for start in range(0, len(items), BATCH):
                chunk = items[start:start + BATCH]
                objs = {o.pk: o for o in manager.filter(pk__in=[pk for pk, *_r in chunk])}
                changed: set[str] = set()
                for pk, name, target, old in chunk:
                    ok, new = self.target_id(target, old)
                    obj = objs[pk]
                    if name.startswith("custom."):
                        key = name.removeprefix("custom.")
                        obj.custom = {**obj.custom, key: new if ok else old}
                        changed.add("custom")
                        continue
                    if not ok:
                        continue  # a record deleted before the export: keep the field empty / as exported
                    current = getattr(obj, name)
                    setattr(obj, name, str(new) if isinstance(current, str) or isinstance(old, str) else new)
                    changed.add(name)
                if changed:
                    manager.bulk_update(list(objs.values()), sorted(changed), batch_size=BATCH)


def import_workspace(
    source: Path | IO[bytes],
    *,
    slug: str = "",
    name: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Workspace, dict[str, int]]:
    """Load an export into a new workspace (``slug``, default: the exported one) or into an empty one."""
    from kehu.audit.models import AuditEntry
    from kehu.audit.services import record

    package = Package(source)
    package.verify()
    exported = package.manifest.get("workspace") or {}
    slug = slug or exported.get("slug") or ""
    if not slug:
        raise _bad(_("Give the new workspace's short name (--slug)."))
    with transaction.atomic():
        workspace = _empty_or_new(slug)
        keep_members: list[tuple[int, str]] = []
        if workspace is None:
            workspace = Workspace.objects.create(
                slug=slug,
                name=name or exported.get("name") or slug,
                **{k: exported[k] for k in SETTINGS if exported.get(k)},
            )
        else:
            with scopes_disabled():
                graph = nodes()
                memberships = graph["workspaces.membership"].model._base_manager.filter(workspace=workspace)
                keep_members = list(memberships.values_list("user_id", "role__key"))
                for label in BOOTSTRAP:
                    graph[label].model._base_manager.filter(workspace=workspace).delete()
        with scope(workspace=workspace):
            loader = Loader(package, workspace, progress)
            counts = loader.run()
            _restore_members(workspace, keep_members)
            record(
                AuditEntry.Action.CREATE,
                workspace=workspace,
                object_type="portability.import",
                changes={
                    "from_workspace": exported.get("slug"),
                    "exported_at": package.manifest.get("created_at"),
                    "rows": sum(counts.values()),
                },
                label="kehu workspace import",
            )
    return workspace, counts


def _restore_members(workspace: Workspace, keep: list[tuple[int, str]]) -> None:
    """Members of an empty target who are not in the export keep a membership (same role key, else owner)."""
    from kehu.workspaces.models import Membership, Role

    if not keep:
        return
    present = set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    roles = {r.key: r for r in Role.objects.filter(workspace=workspace)}
    for user_id, key in keep:
        if user_id not in present and (roles.get(key) or roles.get("owner")):
            role = roles.get(key) or roles["owner"]
            Membership.objects.create(workspace=workspace, user_id=user_id, role=role)
