"""The dashboard tiles' result cache is exact: reused while nothing it reads changed, recomputed after
any write (ORM save, QuerySet.update, delete, raw SQL), never shared between viewers who see different
records, and not ended by writes in another workspace."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.commerce.models import Order
from kehu.customers.models import Account
from kehu.reports import engine

BY_GRADE = {"group_by": [{"field": "grade"}], "date_field": "", "aggregates": [{"fn": "count"}]}


def _run(actor, definition=BY_GRADE, object_type="customers.account"):
    cleaned = engine.clean_definition(actor, object_type, definition)
    return engine.run(actor, object_type, cleaned, cached=True)


def _counts(result):
    return {row.keys[0]: row.value for row in result.rows}


def _report_queries(context):
    return [
        q["sql"] for q in context.captured_queries if "GROUP BY" in q["sql"] and "datachange" not in q["sql"]
    ]


def test_an_unchanged_result_is_reused_without_running_the_query(data):
    owner = data.tenant.actors["owner"]
    with data.tenant.scope():
        first = _run(owner)
        with CaptureQueriesContext(connection) as context:
            again = _run(owner)
    assert _counts(again) == _counts(first) == {"strategic": 2, "important": 1, "ordinary": 2, "": 1}
    assert again.computed_at == first.computed_at is not None
    assert _report_queries(context) == []


def test_every_kind_of_write_ends_the_kept_result(data):
    owner = data.tenant.actors["owner"]
    ws = data.tenant.workspace
    with data.tenant.scope():
        assert _counts(_run(owner))["strategic"] == 2
        Account.objects.create(workspace=ws, name="a7", grade="strategic")  # save()
        assert _counts(_run(owner))["strategic"] == 3
        Account.objects.filter(name="a7").update(grade="important")  # one UPDATE, no signals
        assert _counts(_run(owner))["strategic"] == 2
        with connection.cursor() as cursor:  # raw SQL, as the analytics engine writes grades
            cursor.execute("UPDATE customers_account SET grade = 'strategic' WHERE name = 'a2'")
        assert _counts(_run(owner))["strategic"] == 3
        Account.objects.filter(name="a7").delete()
        assert "important" not in _counts(_run(owner))


def test_viewers_with_different_records_never_share_a_result(data):
    t = data.tenant
    with t.scope():
        assert sum(_counts(_run(t.actors["owner"])).values()) == 6
        assert sum(_counts(_run(t.actors["sales"])).values()) == 3  # own accounts only, not the owner's 6


def test_orders_and_owner_names_are_tracked_too(data):
    t = data.tenant
    by_owner = {"group_by": [{"field": "owner"}], "date_field": "", "aggregates": [{"fn": "count"}]}
    with t.scope():
        labels = {row.labels[0] for row in _run(t.actors["owner"], by_owner, "commerce.order").rows}
        sales = t.users["sales"]
        sales.name = "Renamed Rep"
        sales.save(update_fields=["name"])
        after = {row.labels[0] for row in _run(t.actors["owner"], by_owner, "commerce.order").rows}
    assert "Renamed Rep" in after and "Renamed Rep" not in labels


def test_a_write_in_another_workspace_keeps_the_version(data, other_tenant):
    ws = data.tenant.workspace.pk
    before = engine.data_version(ws, {"customers_account"})
    orders_before = engine.data_version(ws, {"commerce_order"})
    with other_tenant.scope():
        Account.objects.create(workspace=other_tenant.workspace, name="elsewhere")
    assert engine.data_version(ws, {"customers_account"}) == before
    with data.tenant.scope():
        Order.objects.filter(number="o1").update(status="cancelled")
    assert engine.data_version(ws, {"customers_account"}) == before
    assert engine.data_version(ws, {"commerce_order"}) != orders_before


def test_folding_the_log_gives_a_key_never_seen_before(data):
    ws = data.tenant.workspace.pk
    seen = {engine.data_version(ws, {"customers_account"})}
    with data.tenant.scope():
        for i in range(3):
            Account.objects.filter(name="a1").update(city=f"c{i}")
            seen.add(engine.data_version(ws, {"customers_account"}))
        engine.fold_changes(ws)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM reports_datachange WHERE workspace_id = %s AND table_name = %s",
                [ws, "customers_account"],
            )
            assert cursor.fetchone()[0] == 1
        folded = engine.data_version(ws, {"customers_account"})
    assert len(seen) == 4 and folded not in seen


def test_untracked_tables_are_computed_every_time(data):
    assert engine.data_version(data.tenant.workspace.pk, {"customers_account", "customers_contact"}) is None
    assert engine.data_version(data.tenant.workspace.pk, set()) is None


def test_the_scheduler_tick_folds_long_logs_including_the_global_rows(data, monkeypatch):
    from kehu.reports import schedule

    t = data.tenant
    monkeypatch.setattr(engine, "FOLD_AT", 2)
    with t.scope():
        for i in range(3):
            Account.objects.filter(name="a1").update(city=f"c{i}")
            t.users["sales"].name = f"Rep {i}"
            t.users["sales"].save(update_fields=["name"])
        before = engine.data_version(t.workspace.pk, {"customers_account", "users_user"})
        schedule.tick()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT workspace_id, table_name, COUNT(*) FROM reports_datachange "
                "WHERE table_name IN ('customers_account', 'users_user') GROUP BY workspace_id, table_name"
            )
            counts = {(ws, table): n for ws, table, n in cursor.fetchall()}
    assert counts[(t.workspace.pk, "customers_account")] == 1 and counts[(None, "users_user")] == 1
    assert engine.data_version(t.workspace.pk, {"customers_account", "users_user"}) != before
