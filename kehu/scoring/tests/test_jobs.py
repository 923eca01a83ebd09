"""Background jobs: batch rescoring, engagement rescoring after new timeline entries, the schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from kehu.activities.services import log_activity
from kehu.leads.models import Lead
from kehu.scoring import schedule, services, synthetic
from kehu.scoring.models import ScoringModel, ScoringState

pytestmark = pytest.mark.django_db


def test_rescore_open_in_batches(tenant, django_assert_max_num_queries):
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.create_rule(owner, kind="fit", field="industry", operator="eq", value="Software", points=40)
        Lead.objects.bulk_create(
            [
                Lead(workspace=tenant.workspace, name=f"L{i}", industry="Software" if i % 2 else "Retail")
                for i in range(25)
            ]
        )
        # 25 leads in batches of 10: per batch one read and one UPDATE per distinct score (2 here) in a
        # transaction (a savepoint inside the test's), then the empty page; plus state + rules once.
        with django_assert_max_num_queries(3 * (1 + 2 + 2) + 1 + 2):
            changed = services.rescore_open(tenant.workspace, batch=10)
        assert changed == 25
        assert Lead.objects.filter(score=40).count() == 12
        assert Lead.objects.filter(score=0).count() == 13
        # Nothing changed: nothing written.
        assert services.rescore_open(tenant.workspace, batch=10) == 0


def test_new_timeline_entries_rescore_their_leads(tenant):
    sales = tenant.actors["sales"]
    with tenant.scope():
        services.create_rule(tenant.actors["owner"], kind="engagement", event="meeting_held", points=10)
        lead = Lead.objects.create(workspace=tenant.workspace, name="Met", owner=tenant.users["sales"])
        other = Lead.objects.create(workspace=tenant.workspace, name="Quiet")
        log_activity(sales, kind="meeting", subject="Visit", links=[("leads.lead", lead.pk)])
        assert services.rescore_engaged(tenant.workspace) == 1
        lead.refresh_from_db()
        other.refresh_from_db()
        assert lead.score == 10 and other.score is None
        # The watermark moved: a second run reads nothing.
        assert services.rescore_engaged(tenant.workspace) == 0
        assert ScoringState.objects.get().last_link_id > 0


def test_decay_lowers_the_stored_score_on_the_nightly_rescore(tenant):
    with tenant.scope():
        services.create_rule(
            tenant.actors["owner"], kind="engagement", event="meeting_held", points=20, half_life_days=7
        )
        lead = Lead.objects.create(workspace=tenant.workspace, name="Once hot", owner=tenant.users["sales"])
        log_activity(tenant.actors["sales"], kind="meeting", subject="Demo", links=[("leads.lead", lead.pk)])
        services.rescore_open(tenant.workspace)
        lead.refresh_from_db()
        assert lead.score == 20
        services.rescore_open(tenant.workspace, now=timezone.now() + timedelta(days=14))
        lead.refresh_from_db()
        assert lead.score == 5


def test_schedule_enqueues_retraining_once_a_day(tenant, other_tenant):
    assert schedule.tick() == 4  # per workspace: engagement rescoring + retraining
    assert schedule.tick() == 2  # the retraining waits in the queue: not enqueued again
    with tenant.scope():
        services.train(tenant.workspace)
    with scopes_disabled():
        ScoringState.objects.update(retrain_requested_at=None)
    # Trained today: only the other workspace is due.
    assert schedule.tick() == 3
    with tenant.scope():
        assert ScoringModel.objects.get().status == ScoringModel.Status.INSUFFICIENT


def test_training_reads_history_while_writes_go_on(tenant):
    """Training reads in batches outside a transaction: a write between batches succeeds."""
    with tenant.scope():
        synthetic.generate(tenant.workspace, 400, seed=2, open_share=0.0)
        rows = services.history_rows(services.predictive_features(), batch=50)
        next(rows)
        Lead.objects.create(workspace=tenant.workspace, name="Arrived during training")
        assert sum(1 for _ in rows) > 300
        assert Lead.objects.filter(name="Arrived during training").exists()
