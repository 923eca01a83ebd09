"""``kehu import FILE --workspace SLUG --object contacts``: import a CSV/XLSX file from this machine.

Runs in this process (no worker needed) and prints progress after every batch; the job, its
report and undo are the same as in the web wizard (it appears in the import history).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from kehu.core.errors import DomainError
from kehu.imports import services
from kehu.imports.models import ImportJob, MappingTemplate
from kehu.imports.targets import TARGETS
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership, Workspace


class Command(BaseCommand):
    help = "Import accounts, contacts, orders, activities or products from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV or XLSX file")
        parser.add_argument("--workspace", required=True, help="Short name of the workspace.")
        parser.add_argument(
            "--object", default="contacts", choices=sorted(TARGETS), help="What the rows are."
        )
        parser.add_argument(
            "--user", default="", help="Email of the member to import as (default: the owner)."
        )
        parser.add_argument(
            "--mapping",
            default="",
            help='JSON {"header": "field"}, a JSON file, or a saved template\'s name.',
        )
        parser.add_argument("--mode", default="create", choices=["create", "update", "upsert"])
        parser.add_argument(
            "--match-key", default="", help="update/upsert: id, email, phone, sku, external_id …"
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate everything, write nothing.")
        parser.add_argument(
            "--region", default="", help="Region for phone numbers without +country (e.g. CN)."
        )
        parser.add_argument("--date-order", default="ymd", choices=["ymd", "dmy", "mdy"])
        parser.add_argument("--sheet", default="", help="XLSX: the sheet to read.")
        parser.add_argument("--encoding", default="", help="CSV: override the detected encoding.")
        parser.add_argument("--delimiter", default="", help="CSV: override the detected delimiter.")
        parser.add_argument(
            "--no-create-accounts", action="store_true", help="Contacts: refuse unknown companies."
        )
        parser.add_argument(
            "--show-mapping", action="store_true", help="Print the suggested mapping and stop."
        )
        parser.add_argument("--resume", type=int, default=0, help="Continue the stopped import with this id.")
        parser.add_argument("--undo", type=int, default=0, help="Undo the import with this id.")

    def handle(self, *args, **options):
        with scopes_disabled():
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(
                _("No workspace with the short name %(slug)s.") % {"slug": options["workspace"]}
            )
        with scope(workspace=workspace):
            actor = self._actor(workspace, options["user"])
            try:
                self._handle(actor, options)
            except DomainError as exc:
                lines = [str(exc.message)] + [f"  {d.field}: {d.message}" for d in exc.details]
                raise CommandError("\n".join(lines)) from None

    def _actor(self, workspace, email: str) -> Actor:
        members = Membership.objects.select_related("workspace", "user", "role").filter(
            is_active=True, user__is_active=True
        )
        membership = (
            members.filter(user__email=email.strip().lower()).first()
            if email
            else members.filter(role__key="owner").order_by("created_at", "id").first()
        )
        if membership is None:
            raise CommandError(
                _("No active member %(email)s in this workspace.") % {"email": email or "owner"}
            )
        return Actor(membership)

    def _handle(self, actor: Actor, options) -> None:
        if options["undo"]:
            job = services.request_undo(actor, services.job_for(actor, options["undo"]), enqueue=False)
            job = services.run_undo(actor, job.pk)
            self.stdout.write(_("Import %(id)s undone.") % {"id": job.pk})
            if job.message:
                self.stderr.write(job.message)
            return
        if options["resume"]:
            job = services.resume(actor, services.job_for(actor, options["resume"]), enqueue=False)
            return self._run(actor, job)
        if not options["file"]:
            raise CommandError(_("Name the file to import."))
        job = services.job_for_path(actor, Path(options["file"]), target=options["object"])
        config = {
            "mode": options["mode"],
            "dry_run": options["dry_run"],
            "options": {
                "date_order": options["date_order"],
                "create_accounts": not options["no_create_accounts"],
                **({"region": options["region"]} if options["region"] else {}),
            },
        }
        for name in ("sheet", "encoding", "delimiter"):
            if options[name]:
                config[name] = options[name]
        if options["match_key"]:
            config["match_key"] = options["match_key"]
        if options["mapping"]:
            config["mapping"] = self._mapping(options["mapping"], options["object"])
        if options["show_mapping"]:
            job.mapping = config.get("mapping", job.mapping)
            self.stdout.write(json.dumps(job.mapping, ensure_ascii=False, indent=2))
            job.delete()
            return
        job = services.configure(actor, job, **config)
        self.stdout.write(
            _("Import %(id)s: %(file)s → %(object)s (%(kind)s %(encoding)s), mapping %(mapping)s")
            % {
                "id": job.pk,
                "file": job.file_name,
                "object": job.target,
                "kind": job.file_kind,
                "encoding": job.encoding,
                "mapping": json.dumps(job.mapping, ensure_ascii=False),
            }
        )
        services.start(actor, job, enqueue=False)
        self._run(actor, job)

    def _mapping(self, value: str, target: str) -> dict:
        path = Path(value)
        if value.strip().startswith("{"):
            return json.loads(value)
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        template = MappingTemplate.objects.filter(target=target, name=value).first()
        if template is None:
            raise CommandError(
                _("The mapping is neither JSON, a file nor a saved template: %(v)s") % {"v": value}
            )
        return template.mapping

    def _run(self, actor: Actor, job: ImportJob) -> None:
        def progress(current: ImportJob) -> None:
            eta = current.eta_seconds
            self.stdout.write(
                _(
                    "%(done)s/%(total)s rows (%(pct)s%%) · %(rate)s rows/s · %(created)s created · "
                    "%(updated)s updated · %(errors)s rejected%(eta)s"
                )
                % {
                    "done": f"{current.cursor:,}",
                    "total": f"{current.total_rows or 0:,}",
                    "pct": current.progress,
                    "rate": f"{current.rows_per_second:,.0f}",
                    "created": current.created_count,
                    "updated": current.updated_count,
                    "errors": current.error_count,
                    "eta": _(" · about %(s)s s left") % {"s": eta} if eta is not None else "",
                }
            )
            self.stdout.flush()

        job = services.run(actor, job.pk, progress=progress)
        self.stdout.write(
            _(
                "Import %(id)s %(status)s: %(created)s created, %(updated)s updated, "
                "%(errors)s rows rejected, %(corrected)s cells corrected%(dry)s."
            )
            % {
                "id": job.pk,
                "status": job.get_status_display(),
                "created": job.created_count,
                "updated": job.updated_count,
                "errors": job.error_count,
                "corrected": job.corrected_count,
                "dry": _(" (dry run: nothing written)") if job.dry_run else "",
            }
        )
        if job.message:
            self.stderr.write(job.message)
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(_("The import failed; continue it with --resume %(id)s.") % {"id": job.pk})
