"""Export → import into a new workspace → export again gives the same data, for every table."""

import pytest
from django_scopes import scope, scopes_disabled

from kehu.operations import demo
from kehu.portability.exporter import export_workspace
from kehu.portability.graph import nodes
from kehu.portability.importer import import_workspace
from kehu.workspaces.models import Workspace

from .fill import fill_missing
from .roundtrip import normalise, read

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_workspace(db):
    assert demo.seed() is True
    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    with scope(workspace=workspace):
        fill_missing(workspace)
    return workspace


def test_round_trip_of_every_table(full_workspace, tmp_path):
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    with scope(workspace=full_workspace):
        export_workspace(full_workspace, first)
    manifest1, tables1 = read(first)
    # Every exported table of every installed app has rows, so the comparison below covers it.
    empty = sorted(label for label in nodes() if not tables1.get(label))
    assert not empty, f"tables without rows in the round-trip workspace (add them to fill.py): {empty}"

    copy, counts = import_workspace(first, slug="demo-copy")
    assert sum(counts.values()) == sum(len(rows) for rows in tables1.values())
    with scope(workspace=copy):
        export_workspace(copy, second)
    manifest2, tables2 = read(second)

    # The import's own audit entry is the only addition.
    added = [r for r in tables2["audit.auditentry"] if r["object_type"] == "portability.import"]
    assert len(added) == 1 and added[0]["changes"]["from_workspace"] == demo.DEMO_SLUG
    tables2["audit.auditentry"] = [r for r in tables2["audit.auditentry"] if r not in added]
    drop = {"leads.webform.token"}  # globally unique: the copy on the same server gets a new one
    one, two = normalise(tables1, drop=drop), normalise(tables2, drop=drop)
    assert set(one) == set(two) == set(nodes())
    for label in nodes():
        assert one[label] == two[label], f"{label} differs after the round trip"
    # New ids for every row, in the new workspace.
    assert manifest2["workspace"]["slug"] == "demo-copy"
    assert tables2["customers.contact"][0]["id"] != tables1["customers.contact"][0]["id"]
    with scopes_disabled():
        assert {t["workspace"]["id"] for t in (manifest1, manifest2)} == {full_workspace.pk, copy.pk}
    # References point inside the copy: a custom relation value, a tag, a timeline link.
    with scope(workspace=copy):
        from kehu.activities.models import ActivityLink
        from kehu.customers.models import Account, Contact, TaggedRecord

        contact = Contact.objects.get(custom__has_key="partner")
        partner = Account.objects.get(pk=contact.custom["partner"])
        assert partner.workspace_id == copy.pk
        tagged = TaggedRecord.objects.get(object_type="customers.contact")
        assert Contact.objects.filter(pk=tagged.object_id).exists()
        link = ActivityLink.objects.filter(object_type="customers.contact").first()
        assert Contact.objects.filter(pk=link.object_id).exists() and link.activity.workspace_id == copy.pk
