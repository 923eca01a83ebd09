"""Rows for the tables the demo seed leaves empty, so the round trip covers every table.

Written as plain rows (the services of those features are tested in their apps): what matters
here is that every kind of reference — foreign keys, generic pairs, declared id fields, custom
relation and user values — exists at least once.
"""

from kehu.activities.models import Activity, Comment, FollowUpPlan, FollowUpRun, Notification, Task
from kehu.customers.models import Account, Contact, Tag, TaggedRecord
from kehu.customfields.models import FieldDefinition, FieldValueExport
from kehu.duplicates.models import Candidate, MergeRecord, ScanJob
from kehu.imports.models import ImportedRecord, ImportIssue, ImportJob, MappingTemplate
from kehu.listviews.models import ListJob, SavedView
from kehu.workspaces.models import Membership


def fill_missing(workspace) -> None:
    ws = {"workspace": workspace}
    user = Membership.objects.filter(role__key="owner").first().user
    contacts = list(Contact.objects.order_by("pk")[:3])
    account = Account.objects.order_by("-pk").first()
    # Custom fields: a relation to an account loaded later than contacts' definitions, a user value.
    FieldDefinition.objects.create(**ws, object_type="customers.contact", key="partner", label="Partner",
                                   field_type="relation", options={"target": "customers.account"})
    FieldDefinition.objects.create(**ws, object_type="customers.contact", key="mentor", label="Mentor",
                                   field_type="user")
    FieldDefinition.objects.create(**ws, object_type="customers.contact", key="tier", label="Tier",
                                   field_type="single_select",
                                   options={"choices": [{"value": "A", "label": "A"}, {"value": "B"}]})
    Contact.objects.filter(pk=contacts[0].pk).update(
        custom={"partner": account.pk, "mentor": user.pk, "tier": "A"}
    )
    FieldValueExport.objects.create(**ws, object_type="customers.contact", key="old", label="Old",
                                    field_type="text", values={"1": "x"}, count=1)
    tag = Tag.objects.create(**ws, name="重点")
    TaggedRecord.objects.create(**ws, tag=tag, object_type="customers.contact", object_id=contacts[1].pk)
    TaggedRecord.objects.create(**ws, tag=tag, object_type="customers.account", object_id=account.pk)
    activity = Activity.objects.order_by("pk").first()
    activity.participants.add(user)
    task = Task.objects.order_by("pk").first()
    plan = FollowUpPlan.objects.first() or FollowUpPlan.objects.create(
        **ws, name="Care", record_type="customers.contact", task_title="Call"
    )
    FollowUpRun.objects.create(**ws, plan=plan, object_id=contacts[2].pk, period_key="2026-11", task=task)
    comment = Comment.objects.order_by("pk").first()
    Notification.objects.create(**ws, user=user, verb="mention", object_type="activities.comment",
                                object_id=comment.pk, text="@you")
    Notification.objects.create(**ws, user=user, verb="assigned", object_type="activities.task",
                                object_id=task.pk, text="task")
    scan = ScanJob.objects.create(**ws, object_type="customers.contact", status="done")
    Candidate.objects.create(**ws, object_type="customers.contact", record_a=contacts[0].pk,
                             record_b=contacts[1].pk, cluster=contacts[0].pk, score=91, scan=scan)
    MergeRecord.objects.create(**ws, object_type="customers.contact", survivor_id=contacts[2].pk,
                               merged_ids=[999999], survivor_before={"name": "x"})
    job = ImportJob.objects.create(**ws, target="customers.contact", mode="create", status="done",
                                   file_name="c.csv")
    ImportedRecord.objects.create(**ws, job=job, object_type="customers.contact", object_id=contacts[0].pk,
                                  row=2, action="create")
    ImportIssue.objects.create(**ws, job=job, row=3, column="phone", value="12", kind="rejected",
                               reason="not a phone")
    MappingTemplate.objects.create(**ws, name="Mine", target="customers.contact", mapping={"a": "name"})
    SavedView.objects.create(**ws, object_type="customers.contact", name="Mine", owner=user,
                             filters={"op": "and", "conditions": []})
    ListJob.objects.create(**ws, kind="export", object_type="customers.contact", requested_by=user,
                           status="done", params={})
