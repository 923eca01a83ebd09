"""The import wizard: upload → file settings and mapping → preview → run → live progress → report
and history (with undo). Views are thin: the services hold every rule."""

import tempfile

from django.contrib import messages
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.api import keyset_page
from kehu.core.errors import DomainError
from kehu.workspaces.views import member_required, show_domain_error

from . import files, services
from .models import ImportIssue, ImportJob, MappingTemplate
from .targets import get_target

app_name = "imports"


def _job(request, pk) -> ImportJob:
    try:
        return services.job_for(request.actor, pk)
    except DomainError:
        raise Http404 from None


def _detail(job: ImportJob):
    return redirect(reverse("imports:detail", args=[job.pk]))


@member_required
def history(request):
    actor = request.actor
    jobs, cursor = keyset_page(
        services.jobs_for(actor), ordering="-created_at", limit=50, cursor=request.GET.get("cursor")
    )
    return render(
        request,
        "imports/history.html",
        {"jobs": jobs, "next_cursor": cursor, "targets": services.importable_targets(actor)},
    )


@member_required
@require_POST
def upload(request):
    uploaded = request.FILES.get("file")
    if uploaded is None:
        messages.error(request, _("Choose a CSV or XLSX file."))
        return redirect("imports:history")
    try:
        job = services.upload(
            request.actor,
            name=uploaded.name,
            chunks=uploaded.chunks(),
            target=request.POST.get("target", "contacts"),
        )
    except DomainError as error:
        show_domain_error(request, error)
        return redirect("imports:history")
    return _detail(job)


def _context(request, job: ImportJob) -> dict:
    actor = request.actor
    spec = get_target(job.target)
    fields = services.spec_fields(actor, spec)
    context = {
        "job": job,
        "spec": spec,
        "fields": fields,
        "targets": services.importable_targets(actor),
        "templates": MappingTemplate.objects.filter(target=job.target).order_by("name"),
        "encodings": files.ENCODINGS,
        "delimiters": [(",", ","), (";", ";"), ("tab", _("Tab")), ("|", "|")],
        "modes": ImportJob.Mode.choices,
        "date_orders": [("ymd", "2026-11-25"), ("dmy", "25/11/2026"), ("mdy", "11/25/2026")],
        "columns": [(h, job.mapping.get(h, "")) for h in job.headers],
    }
    if job.status != ImportJob.Status.DRAFT:
        context["issues"] = ImportIssue.objects.filter(job=job).order_by("row", "id")[:50]
    return context


@member_required
def detail(request, pk):
    job = _job(request, pk)
    return render(request, "imports/detail.html", _context(request, job))


@member_required
@require_POST
def configure(request, pk):
    job = _job(request, pk)
    post = request.POST
    values = {
        "target": post.get("target") or job.target,
        "mode": post.get("mode") or job.mode,
        "match_key": post.get("match_key", ""),
        "dry_run": post.get("dry_run") == "on",
        "options": {
            "region": post.get("region") or job.options.get("region"),
            "date_order": post.get("date_order") or "ymd",
            "create_accounts": post.get("create_accounts") == "on",
        },
    }
    for name in ("encoding", "delimiter", "sheet"):
        if post.get(name):
            values[name] = post[name]
    if values["target"] == job.target and not any(
        post.get(n) and post.get(n) != getattr(job, n) for n in ("encoding", "sheet")
    ):
        values["mapping"] = {h: post.get(f"map-{i}", "") for i, h in enumerate(job.headers)}
    try:
        if post.get("template"):
            job = services.apply_template(request.actor, job, int(post["template"]))
        else:
            job = services.configure(request.actor, job, **values)
        if post.get("save_template"):
            services.save_template(request.actor, job, post["save_template"])
            messages.success(request, _("Mapping saved as a template."))
    except (DomainError, ValueError) as error:
        if isinstance(error, DomainError):
            show_domain_error(request, error)
        return _detail(job)
    if post.get("next") == "start":
        return start(request, pk)
    return redirect(reverse("imports:detail", args=[job.pk]) + "#preview")


@member_required
def preview(request, pk):
    job = _job(request, pk)
    try:
        data = services.preview(request.actor, job)
    except DomainError as error:
        return render(request, "imports/_preview.html", {"error": error.message})
    return render(request, "imports/_preview.html", {"preview": data})


@member_required
@require_POST
def start(request, pk):
    job = _job(request, pk)
    try:
        services.start(request.actor, job)
    except DomainError as error:
        show_domain_error(request, error)
    return _detail(job)


@member_required
def progress(request, pk):
    job = _job(request, pk)
    return render(request, "imports/_progress.html", {"job": job})


def _job_action(name: str, done_message):
    @member_required
    @require_POST
    def view(request, pk):
        job = _job(request, pk)
        try:
            getattr(services, name)(request.actor, job)
            messages.success(request, done_message())
        except DomainError as error:
            show_domain_error(request, error)
        return _detail(job)

    return view


cancel = _job_action("cancel", lambda: _("The import stops after its current batch."))
resume = _job_action("resume", lambda: _("The import continues after its last committed row."))
undo = _job_action("request_undo", lambda: _("The import is being undone."))


@member_required
def report(request, pk, fmt):
    job = _job(request, pk)
    if fmt == "xlsx":
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        services.report_xlsx(request.actor, job, spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=f"import-{job.pk}-report.xlsx")
    response = StreamingHttpResponse(
        services.report_csv(request.actor, job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response


urlpatterns = [
    path("", history, name="history"),
    path("upload/", upload, name="upload"),
    path("<int:pk>/", detail, name="detail"),
    path("<int:pk>/configure/", configure, name="configure"),
    path("<int:pk>/preview/", preview, name="preview"),
    path("<int:pk>/start/", start, name="start"),
    path("<int:pk>/progress/", progress, name="progress"),
    path("<int:pk>/cancel/", cancel, name="cancel"),
    path("<int:pk>/resume/", resume, name="resume"),
    path("<int:pk>/undo/", undo, name="undo"),
    path("<int:pk>/report.<str:fmt>", report, name="report"),
]
