"""Write a workspace as a zip of JSON Lines (one file per table) + CSV copies + ``manifest.json``.

The format is described in docs/export-format.md. Tables are read by keyset pages on the primary
key (``pk > last ORDER BY pk LIMIT n``), so memory stays flat at any size and the database never
sorts more than one page; every line is written straight into the zip entry.
"""

import base64
import csv
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from django.db import models
from django.utils import timezone

from kehu.workspaces.models import Workspace

from .graph import Node, nodes

FORMAT = "kehu-workspace-export"
FORMAT_VERSION = 1
PAGE = 2000


def kehu_version() -> str:
    try:
        return version("kehu")
    except PackageNotFoundError:
        return "0+unknown"


def encode(value: Any) -> Any:
    """JSON for values the json module does not know (see "Value encoding" in docs/export-format.md)."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(timezone.UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=encode)


def schema_of(node: Node) -> dict:
    fields = []
    for f in node.fields:
        item: dict[str, Any] = {"name": f.attname, "type": f.get_internal_type(), "null": f.null}
        if f.primary_key:
            item["primary_key"] = True
        if f.attname in node.fks:
            item["references"] = node.fks[f.attname]
        if f.attname in node.id_refs:
            item["references"] = node.id_refs[f.attname]
        fields.append(item)
    return {
        "fields": fields,
        "generic_references": [{"type": t, "id": i} for t, i in node.generic],
    }


def rows_of(node: Node, workspace_id: int, page: int = PAGE):
    """The workspace's rows of one table as tuples of field values, by keyset pages on the pk."""
    names = [f.attname for f in node.fields]
    base = node.model._base_manager.filter(**{node.workspace_path: workspace_id}).order_by(node.pk)
    last = None
    while True:
        qs = base if last is None else base.filter(**{f"{node.pk}__gt": last})
        batch = list(qs.values_list(*names)[:page])
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def main_tables() -> list[Node]:
    """Tables that get a CSV copy: the business records (those with a registered object type)."""
    return [n for n in nodes().values() if getattr(n.model, "object_type", "")]


def _csv_cell(value: Any) -> str:
    from kehu.listviews.services import spreadsheet_safe

    if value is None:
        return ""
    if isinstance(value, dict | list):
        return spreadsheet_safe(json.dumps(value, ensure_ascii=False, default=encode))
    if isinstance(value, bool | int | float | Decimal):
        return str(value)
    encoded = encode(value) if not isinstance(value, str) else value
    return spreadsheet_safe(str(encoded))


class _Hashing:
    """A writable that counts and hashes what passes through to a zip entry."""

    def __init__(self, target: IO[bytes]):
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)


def export_workspace(
    workspace: Workspace,
    target: Path | IO[bytes],
    *,
    progress: Callable[[int, int], None] | None = None,
    csv_copies: bool = True,
) -> dict:
    """Write the whole workspace into ``target`` (a path or a binary file); returns the manifest."""
    graph = nodes()
    counts = {
        label: node.model._base_manager.filter(**{node.workspace_path: workspace.pk}).count()
        for label, node in graph.items()
    }
    total = sum(counts.values()) * (1 + csv_copies)
    done = 0
    user_ids: set[int] = set()
    files: list[dict] = []
    file_fields: dict[str, list[models.FileField]] = {
        label: [f for f in node.fields if isinstance(f, models.FileField)] for label, node in graph.items()
    }
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:

        def entry(name: str, write: Callable[[_Hashing], int], kind: str, **extra) -> None:
            with zf.open(name, "w", force_zip64=True) as raw:
                sink = _Hashing(raw)
                rows = write(sink)
            files.append({"path": name, "kind": kind, "rows": rows, "bytes": sink.size,
                          "sha256": sink.sha.hexdigest(), **extra})

        for label, node in graph.items():
            names = [f.attname for f in node.fields]
            user_cols = [i for i, n in enumerate(names) if node.fks.get(n) == "users.user"]
            blobs = [(names.index(f.attname), f) for f in file_fields[label]]
            files_after: list = []  # copied once the table's entry is closed: a zip has one write handle

            def write_jsonl(
                sink: _Hashing,
                node=node,
                names=names,
                user_cols=user_cols,
                blobs=blobs,
                files_after=files_after,
            ) -> int:
                nonlocal done
                n = 0
                for values in rows_of(node, workspace.pk):
                    for i in user_cols:
                        if values[i] is not None:
                            user_ids.add(values[i])
                    for i, f in blobs:
                        if values[i]:
                            files_after.append((f, values[i]))
                    sink.write((dumps(dict(zip(names, values, strict=True))) + "\n").encode())
                    n += 1
                    done += 1
                    if progress and done % 10_000 == 0:
                        progress(done, total)
                return n

            entry(node.file, write_jsonl, "table", table=label, schema=schema_of(node))
            for f, name in files_after:
                _copy_file(zf, f, name)

        if csv_copies:
            for node in main_tables():

                def write_csv(sink: _Hashing, node=node) -> int:
                    nonlocal done
                    buffer = io.StringIO()
                    writer = csv.writer(buffer)
                    sink.write("\ufeff".encode())  # UTF-8 with BOM: spreadsheet programs read it as UTF-8
                    writer.writerow([f.attname for f in node.fields])
                    n = 0
                    for values in rows_of(node, workspace.pk):
                        writer.writerow([_csv_cell(v) for v in values])
                        if buffer.tell() > 1 << 16:
                            sink.write(buffer.getvalue().encode())
                            buffer.seek(0)
                            buffer.truncate()
                        n += 1
                        done += 1
                        if progress and done % 10_000 == 0:
                            progress(done, total)
                    sink.write(buffer.getvalue().encode())
                    return n

                entry(f"csv/{node.label}.csv", write_csv, "csv", table=node.label)

        members = set(
            graph["workspaces.membership"].model._base_manager.filter(workspace_id=workspace.pk)
            .values_list("user_id", flat=True)
        )
        user_ids |= members

        def write_users(sink: _Hashing) -> int:
            from kehu.users.models import User

            n = 0
            for values in User.objects.filter(pk__in=sorted(user_ids)).order_by("pk").values(
                "id", "email", "name", "language", "is_active"
            ).iterator(chunk_size=PAGE):
                sink.write((dumps(values) + "\n").encode())
                n += 1
            return n

        entry("users.jsonl", write_users, "users")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kehu_version": kehu_version(),
            "created_at": encode(timezone.now()),
            "workspace": {
                "id": workspace.pk,
                "name": workspace.name,
                "slug": workspace.slug,
                "default_region": workspace.default_region,
                "base_currency": workspace.base_currency,
                "default_language": workspace.default_language,
                "time_zone": workspace.time_zone,
                "created_at": encode(workspace.created_at),
            },
            "order": list(graph),
            "files": files,
        }
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    if progress:
        progress(total, total)
    return manifest


def _copy_file(zf: zipfile.ZipFile, f: models.FileField, name: str) -> None:
    """An uploaded file of a FileField row into ``files/<storage name>`` (read and written in chunks)."""
    storage = f.storage
    if not storage.exists(name):
        return
    with storage.open(name, "rb") as source, zf.open(f"files/{name}", "w", force_zip64=True) as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            out.write(chunk)
