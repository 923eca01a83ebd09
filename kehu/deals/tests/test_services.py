"""Deal services: default pipeline, stage rules, history, derived values, admin of pipelines."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from kehu.audit.models import AuditEntry
from kehu.commerce import services as commerce
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.deals import services
from kehu.deals.models import LostReason, Opportunity, Pipeline, Stage, StageChange

pytestmark = pytest.mark.django_db


def test_default_pipeline_is_created_once_in_the_workspace_language(tenant, monkeypatch):
    # Names are translated in the workspace's language, whatever the request's language is.
    monkeypatch.setattr(services, "_", lambda text: f"{translation.get_language()}:{text}")
    tenant.workspace.default_language = "zh-hans"
    tenant.workspace.save()
    with tenant.scope(), translation.override("en"):
        first = services.default_pipeline(tenant.workspace)
        assert services.default_pipeline(tenant.workspace) == first
        assert Pipeline.objects.count() == 1 and LostReason.objects.count() == 6
        stages = list(first.stages.order_by("position"))
    assert [(s.probability, s.is_won, s.is_lost) for s in stages] == [
        (10, False, False),
        (20, False, False),
        (50, False, False),
        (75, False, False),
        (100, True, False),
        (0, False, True),
    ]
    assert first.name == "zh-hans:New business" and stages[0].name == "zh-hans:Qualification"
    assert stages[2].required_fields == ["amount"]


def test_create_defaults_and_history(tenant, deal_setup):
    with tenant.scope():
        sales = tenant.actors["sales"]
        opp = services.create_opportunity(
            sales, name="  ERP  rollout ", account=deal_setup["account"], amount="1200", tags=["重点"]
        )
        assert opp.name == "ERP rollout" and opp.owner_id == tenant.users["sales"].pk
        assert opp.pipeline == deal_setup["pipeline"] and opp.stage == deal_setup["stages"][10]
        assert (opp.probability, opp.forecast_category, opp.status) == (10, "pipeline", "open")
        assert opp.currency == "CNY" and opp.base_amount == Decimal("1200.00")
        assert services.tags_of(opp) == ["重点"]
        change = StageChange.objects.get(opportunity=opp)
        assert (
            change.from_stage is None and change.to_stage == opp.stage and change.seconds_in_previous is None
        )
        entry = AuditEntry.objects.get(object_type="deals.opportunity", action="create")
        assert entry.changes["name"] == [None, "ERP rollout"] and entry.changes["tags"] == [None, ["重点"]]


def test_required_fields_block_the_move_and_name_the_fields(tenant, deal_setup):
    stages = deal_setup["stages"]
    with tenant.scope():
        sales = tenant.actors["sales"]
        stages[20].required_fields = ["contacts", "next_step"]
        stages[20].save()
        opp = services.create_opportunity(sales, name="X", account_id=deal_setup["account"].pk)
        with pytest.raises(ValidationFailed) as failed:
            services.move_to_stage(sales, opp, stages[20])
        assert {d.field for d in failed.value.details} == {"contacts", "next_step"}
        assert opp.stage == stages[10]  # the caller's instance is left as stored
        opp.refresh_from_db()
        assert opp.stage == stages[10] and StageChange.objects.filter(opportunity=opp).count() == 1
        # Filling the fields in the same call as the move is enough.
        services.update_opportunity(
            sales,
            opp,
            stage_id=stages[20].pk,
            next_step="Call",
            contacts=[{"contact_id": deal_setup["contact"].pk, "role": "champion"}],
        )
        assert opp.stage == stages[20] and opp.probability == 20


def test_time_in_stage_and_closing(tenant, deal_setup):
    stages = deal_setup["stages"]
    start = timezone.now() - timedelta(days=10)
    with tenant.scope():
        sales = tenant.actors["sales"]
        opp = services.create_opportunity(
            sales, at=start, name="X", account_id=deal_setup["account"].pk, amount=500, probability=30
        )
        assert opp.probability == 30  # overrides the stage's 10
        services.move_to_stage(sales, opp, stages[50], at=start + timedelta(days=4))
        assert opp.probability == 50 and opp.forecast_category == "best_case"
        services.win(sales, opp, at=start + timedelta(days=7))
        assert (opp.status, opp.probability, opp.forecast_category) == ("won", 100, "closed")
        assert opp.closed_at == start + timedelta(days=7)
        seconds = list(
            StageChange.objects.filter(opportunity=opp)
            .order_by("changed_at")
            .values_list("seconds_in_previous", flat=True)
        )
        assert seconds == [None, 4 * 86400, 3 * 86400]
        assert services.win(sales, opp) is opp  # idempotent
        assert StageChange.objects.filter(opportunity=opp).count() == 3


def test_lose_needs_a_reason(tenant, deal_setup):
    with tenant.scope():
        sales = tenant.actors["sales"]
        opp = services.create_opportunity(sales, name="X", account_id=deal_setup["account"].pk)
        with pytest.raises(ValidationFailed) as failed:
            services.lose(sales, opp, "")
        assert [d.field for d in failed.value.details] == ["lost_reason"]
        services.lose(sales, opp, "Chose a competitor")
        assert (opp.status, opp.forecast_category, opp.lost_reason) == (
            "lost",
            "omitted",
            "Chose a competitor",
        )


def test_bad_input_changes_nothing(tenant, other_tenant, deal_setup):
    with tenant.scope():
        sales = tenant.actors["sales"]
        with pytest.raises(ValidationFailed) as failed:
            services.create_opportunity(
                sales,
                name="",
                account_id=999999,
                amount="-5",
                currency="XXX",
                probability=140,
                forecast_category="maybe",
                lines=[{"description": "x", "quantity": 0}],
                bogus=1,
            )
        fields = {d.field for d in failed.value.details}
        assert {"name", "account_id", "amount", "currency", "probability", "forecast_category"} <= fields
        assert {"lines.0.quantity", "bogus"} <= fields
        assert not Opportunity.objects.exists()


def test_stage_of_another_pipeline_is_refused(tenant, deal_setup):
    with tenant.scope():
        admin = tenant.actors["admin"]
        other = services.create_pipeline(admin, name="Renewals")
        opp = services.create_opportunity(admin, name="X", account_id=deal_setup["account"].pk)
        with pytest.raises(ValidationFailed):
            services.move_to_stage(admin, opp, other.stages.first())
        # Changing the pipeline puts the deal into the new pipeline's first open stage (here: won).
        services.update_opportunity(admin, opp, pipeline_id=other.pk)
        assert opp.pipeline == other and opp.stage.pipeline_id == other.pk


def test_foreign_currency_is_converted_with_the_rate(tenant, deal_setup):
    with tenant.scope():
        admin = tenant.actors["admin"]
        with pytest.raises(ValidationFailed) as failed:
            services.create_opportunity(
                admin, name="X", account_id=deal_setup["account"].pk, amount=10, currency="USD"
            )
        assert failed.value.details[0].code == "no_exchange_rate"
        commerce.create_rate(
            admin, currency="USD", rate_to_base="7.2", valid_from=timezone.localdate() - timedelta(days=3)
        )
        opp = services.create_opportunity(
            admin,
            name="X",
            account_id=deal_setup["account"].pk,
            currency="USD",
            lines=[
                {"description": "Licence", "quantity": 3, "unit_price": "10.005", "discount_percent": "50"}
            ],
        )
        assert opp.amount == Decimal("15.01") and opp.base_amount == Decimal("108.07")


def test_pipeline_admin_rules(tenant, deal_setup):
    with tenant.scope():
        admin, sales = tenant.actors["admin"], tenant.actors["sales"]
        with pytest.raises(PermissionDenied):
            services.create_pipeline(sales, name="Mine")
        renewals = services.create_pipeline(admin, name="Renewals")
        due = services.create_stage(admin, renewals, name="Due", probability=40)
        assert [s.name for s in renewals.stages.order_by("position")] == ["Due", "Won", "Lost"]
        with pytest.raises(ValidationFailed):
            services.create_stage(admin, renewals, name="Due")
        with pytest.raises(ValidationFailed):
            services.update_stage(admin, due, is_won=True, is_lost=True)
        opp = services.create_opportunity(
            sales, name="X", account_id=deal_setup["account"].pk, pipeline_id=renewals.pk
        )
        with pytest.raises(Conflict):
            services.delete_stage(admin, due)
        with pytest.raises(Conflict):
            services.delete_pipeline(admin, renewals)
        services.delete_pipeline(admin, renewals, move_to=deal_setup["stages"][20])
        opp.refresh_from_db()
        assert opp.stage == deal_setup["stages"][20]
        # The deal's history moved with it instead of going with the deleted pipeline.
        assert StageChange.objects.filter(opportunity=opp).count() == 2
        with pytest.raises(Conflict):
            services.delete_pipeline(admin, deal_setup["pipeline"])
        services.update_pipeline(admin, services.create_pipeline(admin, name="Channel"), is_default=True)
        assert Pipeline.objects.get(is_default=True).name == "Channel"
        assert not Stage.objects.filter(pipeline__name="Renewals").exists()
