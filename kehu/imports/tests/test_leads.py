"""Leads import through the leads services: duplicate check and assignment rules apply to every row."""

from kehu.activities.models import Task
from kehu.imports.models import ImportedRecord
from kehu.leads import services as leads
from kehu.leads.models import Lead, LeadDuplicate

CSV = (
    "姓名,公司,邮箱,电话,城市,行业\n"
    "张伟,云帆科技,zw@yunfan.cn,138 0013 8000,上海,软件\n"
    "李娜,明远贸易,ln@mingyuan.cn,,北京,贸易\n"
    "王芳,长城物流,wf@changcheng.cn,,上海,物流\n"
    "陈静,蓝海咨询,old@lanhai.cn,,广州,咨询\n"
    "刘洋,星辰电子,ly@xingchen.cn,,深圳,电子\n"
)


def test_csv_of_leads_is_assigned_by_rule_and_checked_for_duplicates(tenant, make_job, run_job):
    admin, sales = tenant.actors["admin"], tenant.users["sales"]
    with tenant.scope():
        earlier = leads.create_lead(admin, name="陈静", email="old@lanhai.cn", assign=False)
        rule = leads.create_rule(
            admin, name="Shanghai", conditions=[{"field": "city", "value": "上海"}], user_id=sales.pk
        )
    job = make_job(CSV, target="leads")
    assert {job.mapping[h] for h in ("姓名", "公司", "邮箱", "电话", "城市", "行业")} == {
        "name",
        "company",
        "email",
        "phone",
        "city",
        "industry",
    }
    job = run_job(job)
    assert (job.created_count, job.error_count) == (5, 0)
    with tenant.scope():
        imported = {
            lead.name: lead
            for lead in Lead.objects.filter(pk__in=ImportedRecord.objects.filter(job=job).values("object_id"))
        }
        assert sorted(imported) == ["刘洋", "张伟", "李娜", "王芳", "陈静"]
        assert all(lead.source == Lead.Source.IMPORT for lead in imported.values())
        assert imported["张伟"].phone == "+8613800138000"
        # The Shanghai rule assigned its two leads, with a first-contact task each; the rest stay
        # with the importing member.
        by_rule = {name for name, lead in imported.items() if lead.assigned_by_rule_id == rule.pk}
        assert by_rule == {"张伟", "王芳"}
        assert {imported[n].owner_id for n in by_rule} == {sales.pk}
        assert {imported[n].owner_id for n in imported.keys() - by_rule} == {admin.user.pk}
        tasks = Task.objects.filter(record_type="leads.lead", assignee_id=sales.pk)
        assert sorted(tasks.values_list("record_id", flat=True)) == sorted(imported[n].pk for n in by_rule)
        # The row with an earlier lead's email is created and flagged, not refused.
        [flag] = LeadDuplicate.objects.filter(lead__in=imported.values())
        assert (flag.lead_id, flag.other_lead_id, flag.reason) == (imported["陈静"].pk, earlier.pk, "email")


def test_lead_update_by_email_and_undo(tenant, make_job, run_job):
    from kehu.imports import services

    admin = tenant.actors["admin"]
    with tenant.scope():
        lead = leads.create_lead(admin, name="张伟", email="zw@yunfan.cn", industry="软件", assign=False)
    text = "邮箱,行业,状态\nzw@yunfan.cn,制造,contacted\n"
    job = run_job(make_job(text, target="leads", mode="update", match_key="email"))
    assert (job.updated_count, job.error_count) == (1, 0)
    with tenant.scope():
        lead.refresh_from_db()
        assert (lead.industry, lead.status, lead.source) == ("制造", "contacted", Lead.Source.MANUAL)
        services.request_undo(admin, job, enqueue=False)
        services.run_undo(admin, job.pk)
        lead.refresh_from_db()
        assert (lead.industry, lead.status) == ("软件", "new")


def test_leads_target_is_listed_for_members_who_may_create_leads(tenant):
    targets = {t["key"]: t for t in tenant.api_client("admin").get("/api/v1/imports/targets").json()}
    assert targets["leads"]["match_keys"] == ["id", "email", "phone"]
    assert {"name", "company", "title", "source", "utm_campaign", "owner"} <= {
        f["key"] for f in targets["leads"]["fields"]
    }
    readonly = tenant.api_client("readonly").get("/api/v1/imports/targets").json()
    assert "leads" not in {t["key"] for t in readonly}
