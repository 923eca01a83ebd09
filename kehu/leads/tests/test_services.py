from datetime import timedelta

import pytest
from django.utils import timezone

from kehu.activities.models import ActivityLink, Comment, Notification, Task
from kehu.activities.services import add_comment, log_activity
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.customers import services as customer_services
from kehu.customers.models import Account, Contact
from kehu.customfields.services import create_definition
from kehu.leads import services
from kehu.leads.duplicates import find_lead_duplicates
from kehu.leads.models import AssignmentState, Lead, LeadDuplicate
from kehu.leads.signals import lead_saved
from kehu.workspaces.models import Team


@pytest.fixture
def team(tenant):
    with tenant.scope():
        team = Team.objects.create(workspace=tenant.workspace, name="Inside sales")
        team.members.add(tenant.users["sales"], tenant.users["manager"], tenant.users["marketing"])
    return team


def test_create_normalises_flags_and_signals(tenant):
    seen = []

    def receiver(sender, lead, actor, created, **kwargs):
        seen.append((lead.pk, created))

    lead_saved.connect(receiver)
    try:
        with tenant.scope():
            lead = services.create_lead(
                tenant.actors["sales"],
                name=" 张  伟 ",
                company="Acme",
                email=" ZW@Example.COM ",
                phone="138 0013 8000",
                website="acme.cn",
            )
    finally:
        lead_saved.disconnect(receiver)
    assert (lead.name, lead.email, lead.phone) == ("张 伟", "zw@example.com", "+8613800138000")
    assert lead.name_pinyin == "zhangwei" and lead.website == "https://acme.cn"
    assert lead.owner_id == tenant.users["sales"].pk and lead.source == Lead.Source.MANUAL
    assert seen == [(lead.pk, True)]


def test_bad_fields_are_all_reported(tenant):
    with tenant.scope(), pytest.raises(ValidationFailed) as failed:
        services.create_lead(
            tenant.actors["sales"], name="", email="nope", status="disqualified", source="tv", country="XX"
        )
    fields = {d.field for d in failed.value.details}
    assert fields == {"name", "email", "disqualified_reason", "source", "country"}
    with tenant.scope():
        assert not Lead.objects.exists()


def test_readonly_may_not_create(tenant):
    with tenant.scope(), pytest.raises(PermissionDenied):
        services.create_lead(tenant.actors["readonly"], name="X")


def test_duplicates_by_email_phone_and_name_company(tenant):
    actor = tenant.actors["admin"]
    with tenant.scope():
        first = services.create_lead(actor, name="王芳", company="北京星辰科技有限公司", email="wf@x.cn")
        account = customer_services.create_account(actor, name="Northwind Trading")
        contact = customer_services.create_contact(
            actor, name="Li Na", account_id=account.pk, phone="13900139000"
        )
        by_email = find_lead_duplicates(tenant.workspace, {"name": "Someone", "email": "WF@x.cn"})
        by_phone = find_lead_duplicates(tenant.workspace, {"name": "Other", "phone": "+86 139 0013 9000"})
        by_name = find_lead_duplicates(tenant.workspace, {"name": "王芳", "company": "北京星辰科技有限公司 "})
        near_name = find_lead_duplicates(
            tenant.workspace, {"name": "Li Na", "company": "Northwind Trading Co"}
        )
        unrelated = find_lead_duplicates(tenant.workspace, {"name": "王芳", "company": "Totally Else"})
        assert [(m.reason, m.lead_id) for m in by_email] == [("email", first.pk)]
        assert [(m.reason, m.contact_id) for m in by_phone] == [("phone", contact.pk)]
        assert [(m.reason, m.lead_id) for m in by_name] == [("name_company", first.pk)]
        assert [(m.reason, m.contact_id) for m in near_name] == [("name_company", contact.pk)]
        assert unrelated == []
        second = services.create_lead(actor, name="Wang Fang", company="Other", email="wf@x.cn")
        flags = list(LeadDuplicate.objects.filter(lead=second).values_list("other_lead_id", "reason"))
        assert flags == [(first.pk, "email")]
        assert services.keep_both(actor, second) == 1
        assert not LeadDuplicate.objects.filter(lead=second, dismissed_at__isnull=True).exists()


def test_merge_fills_blanks_moves_timeline_and_deletes(tenant):
    actor = tenant.actors["admin"]
    with tenant.scope():
        keep = services.create_lead(actor, name="A", email="a@x.cn")
        extra = services.create_lead(actor, name="A", email="a@x.cn", city="Shanghai", title="CTO")
        activity = log_activity(actor, kind="call", subject="Hi", links=[("leads.lead", extra.pk)])
        services.merge_lead(actor, extra, keep)
        keep.refresh_from_db()
        assert (keep.city, keep.title) == ("Shanghai", "CTO")
        assert not Lead.objects.filter(pk=extra.pk).exists()
        assert ActivityLink.objects.filter(
            activity=activity, object_type="leads.lead", object_id=keep.pk
        ).exists()


def _rule(tenant, **values):
    with tenant.scope():
        return services.create_rule(tenant.actors["admin"], **values)


def test_rules_match_in_order_and_assign_a_user_with_task_and_notification(
    tenant, django_capture_on_commit_callbacks
):
    _rule(
        tenant,
        name="Shanghai",
        conditions=[{"field": "city", "op": "in", "value": ["Shanghai", "上海"]}],
        user_id=tenant.users["sales"].pk,
        sla_hours=4,
    )
    _rule(tenant, name="Rest", conditions=[], user_id=tenant.users["manager"].pk)
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        before = timezone.now()
        lead = services.create_lead(tenant.actors["admin"], name="Z", city="上海")
        other = services.create_lead(tenant.actors["admin"], name="Y", city="Beijing")
        assert lead.owner_id == tenant.users["sales"].pk and lead.assigned_by_rule.name == "Shanghai"
        assert other.owner_id == tenant.users["manager"].pk
        task = Task.objects.get(record_type="leads.lead", record_id=lead.pk)
        assert task.assignee_id == tenant.users["sales"].pk
        assert before + timedelta(hours=4) <= task.due_at <= timezone.now() + timedelta(hours=4)
    with tenant.scope():
        assert Notification.objects.filter(user=tenant.users["sales"], object_id=lead.pk).exists()
        # An explicit owner skips the rules.
        mine = services.create_lead(
            tenant.actors["admin"], name="X", city="上海", owner_id=tenant.users["admin"].pk
        )
        assert mine.owner_id == tenant.users["admin"].pk and mine.assigned_by_rule_id is None


def test_weighted_round_robin_with_daily_cap(tenant, team):
    sales, manager, marketing = (tenant.users[k].pk for k in ("sales", "manager", "marketing"))
    rule = _rule(
        tenant, name="Team", team_id=team.pk, weights={str(sales): 2, str(manager): 1, str(marketing): 0}
    )
    with tenant.scope():
        owners = [services.create_lead(tenant.actors["admin"], name=f"L{i}").owner_id for i in range(9)]
    assert owners.count(sales) == 6 and owners.count(manager) == 3 and marketing not in owners
    assert owners[:3] in ([sales, manager, sales], [sales, sales, manager])
    with tenant.scope():
        services.update_rule(tenant.actors["admin"], rule, daily_cap=7)
        more = [services.create_lead(tenant.actors["admin"], name=f"M{i}").owner_id for i in range(3)]
        # sales already has 6 today, manager 3: sales gets one more, then only manager is eligible.
        assert more.count(sales) == 1 and more.count(manager) == 2
        state = AssignmentState.objects.get(rule=rule, user_id=sales)
        assert state.day_count == 7
        state.day = timezone.localdate() - timedelta(days=1)
        state.save()
        assert services.create_lead(tenant.actors["admin"], name="Next day").owner_id in (sales, manager)


def test_rule_validation(tenant):
    with tenant.scope(), pytest.raises(ValidationFailed) as failed:
        services.create_rule(
            tenant.actors["admin"], name="", conditions=[{"field": "owner", "value": "x"}], weights={"a": -1}
        )
    assert {d.field for d in failed.value.details} == {"name", "conditions.0.field", "weights", "user_id"}
    with tenant.scope(), pytest.raises(PermissionDenied):
        services.create_rule(tenant.actors["sales"], name="x", user_id=tenant.users["sales"].pk)


def test_conversion_carries_data_and_is_idempotent(tenant):
    actor = tenant.actors["admin"]
    with tenant.scope():
        for object_type in ("leads.lead", "customers.contact", "customers.account"):
            create_definition(
                actor, object_type=object_type, key="budget", label="Budget", field_type="number"
            )
        create_definition(actor, object_type="leads.lead", key="lead_only", label="x", field_type="text")
        lead = services.create_lead(
            actor,
            name="赵六",
            company="Acme",
            email="z6@acme.cn",
            industry="IT",
            custom={"budget": 5000, "lead_only": "x"},
        )
        activity = log_activity(actor, kind="call", subject="Intro", links=[("leads.lead", lead.pk)])
        task = Task.objects.create(
            workspace=tenant.workspace, title="Call back", record_type="leads.lead", record_id=lead.pk
        )
        add_comment(actor, record_type="leads.lead", record_id=lead.pk, body="Promising")
        with pytest.raises(Conflict):
            services.convert_lead(actor, lead)
        services.update_lead(actor, lead, status="qualified")
        result = services.convert_lead(actor, lead)
        account, contact = result.account, result.contact
        assert (account.name, account.industry, account.custom) == ("Acme", "IT", {"budget": 5000})
        assert (contact.name, contact.email, contact.account_id, contact.custom) == (
            "赵六",
            "z6@acme.cn",
            account.pk,
            {"budget": 5000},
        )
        linked = set(ActivityLink.objects.filter(activity=activity).values_list("object_type", "object_id"))
        assert linked == {
            ("leads.lead", lead.pk),
            ("customers.account", account.pk),
            ("customers.contact", contact.pk),
        }
        task.refresh_from_db()
        assert (task.record_type, task.record_id) == ("customers.contact", contact.pk)
        assert Comment.objects.filter(
            record_type="customers.contact", record_id=contact.pk, body="Promising"
        ).exists()
        assert Comment.objects.filter(record_type="leads.lead", record_id=lead.pk).exists()
        again = services.convert_lead(actor, lead)
        assert again.already and (again.account.pk, again.contact.pk) == (account.pk, contact.pk)
        assert Account.objects.count() == 1 and Contact.objects.count() == 1
        with pytest.raises(Conflict):
            services.update_lead(actor, lead, status="new")


def test_conversion_into_existing_records_and_atomicity(tenant):
    actor = tenant.actors["admin"]
    with tenant.scope():
        account = customer_services.create_account(actor, name="Existing Co")
        lead = services.create_lead(actor, name="Q", company="Existing Co", status="qualified")
        with pytest.raises(ValidationFailed):
            services.convert_lead(actor, lead, account_id=account.pk, contact_id=999999)
        lead.refresh_from_db()
        assert not lead.is_converted and Contact.objects.count() == 0
        result = services.convert_lead(actor, lead, account_id=account.pk)
        assert result.account.pk == account.pk and Account.objects.count() == 1


def test_conversion_with_an_opportunity(tenant):
    from kehu.deals.models import Opportunity

    actor = tenant.actors["admin"]
    with tenant.scope():
        lead = services.create_lead(
            actor, name="Q", company="Deal Co", status="qualified", source="event", utm_campaign="expo"
        )
        result = services.convert_lead(actor, lead, opportunity={"amount": 12000})
        opp = Opportunity.objects.get()
        assert result.opportunity.pk == opp.pk and opp.account_id == result.account.pk
        assert (opp.name, opp.amount, opp.source, opp.campaign) == ("Deal Co", 12000, "event", "expo")
        assert list(opp.contact_roles.values_list("contact_id", flat=True)) == [result.contact.pk]
        lead.refresh_from_db()
        assert lead.converted_opportunity_id == opp.pk
        assert services.convert_lead(actor, lead).opportunity.pk == opp.pk
