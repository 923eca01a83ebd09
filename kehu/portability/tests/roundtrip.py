"""Helpers of the round-trip test: read an export, and normalise it so that two exports compare.

Every reference (foreign key, generic pair, declared id field, custom relation value) becomes
``(table, position of the target row in its file)``: ids differ between two workspaces, the order
of rows (pk order, which the import keeps) does not.
"""

import json
import zipfile

from kehu.portability.graph import nodes

WORKSPACE = "workspaces.workspace"


def read(path) -> tuple[dict, dict[str, list[dict]]]:
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        tables = {}
        for f in manifest["files"]:
            if f["kind"] == "table":
                tables[f["table"]] = [json.loads(line) for line in zf.read(f["path"]).splitlines() if line]
    return manifest, tables


def normalise(tables: dict[str, list[dict]], *, drop: set[str] = frozenset()) -> dict[str, list]:
    graph = nodes()
    position = {
        label: {row[graph[label].pk]: i for i, row in enumerate(rows)} for label, rows in tables.items()
    }
    custom_refs: dict[str, dict[str, str]] = {}
    for d in tables.get("customfields.fielddefinition", []):
        if d["field_type"] == "relation":
            custom_refs.setdefault(d["object_type"], {})[d["key"]] = (d["options"] or {}).get("target", "")

    def ref(target: str, value):
        if value in (None, ""):
            return value
        if target in ("users.user", WORKSPACE):
            return (target, "same" if target == WORKSPACE else value)
        try:
            key = int(value)
        except (TypeError, ValueError):
            return ("verbatim", value)
        i = position.get(target, {}).get(key)
        return (target, i) if i is not None else ("missing", value)

    by_pk: dict[str, dict] = {}
    result = {}
    for label, rows in tables.items():
        node = graph[label]
        object_type = getattr(node.model, "object_type", "") or label
        out = []
        for original in rows:
            row = dict(original)
            row.pop(node.pk)
            for name, target in node.fks.items():
                row[name] = ref(target, row.get(name))
            for type_name, id_name in node.generic:
                t = (row.get(type_name) or "").lower()
                if t in graph or t == WORKSPACE:
                    row[id_name] = ref(t, row.get(id_name))
            for name, target in node.id_refs.items():
                if target.startswith("="):
                    row[name] = ref(str(row.get(target[1:]) or "").lower(), row.get(name))
                elif target.startswith("@"):
                    fk, type_field = target[1:].split(".")
                    field = node.model._meta.get_field(fk)
                    parent_label = field.related_model._meta.label_lower
                    parents = by_pk.setdefault(parent_label, {
                        r[graph[parent_label].pk]: r for r in tables.get(parent_label, [])
                    })
                    parent = parents.get(original[field.attname]) or {}
                    row[name] = ref(str(parent.get(type_field) or "").lower(), row.get(name))
                else:
                    row[name] = ref(target, row.get(name))
            if isinstance(row.get("custom"), dict):
                for key, target in custom_refs.get(object_type, {}).items():
                    if key in row["custom"]:
                        row["custom"][key] = ref(target, row["custom"][key])
            for name in drop:
                t, _, field = name.rpartition(".")
                if t == label:
                    row.pop(field, None)
            out.append(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str))
        result[label] = out
    return result
