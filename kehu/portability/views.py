"""Pages: the data quality dashboard (/data-quality/) and full workspace exports (/settings/export/)."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError, PermissionDenied
from kehu.workspaces.views import member_required, show_domain_error

from . import quality, services


@member_required
def data_quality(request):
    if not quality.may_view(request.actor):
        raise Http404
    try:
        months = int(request.GET.get("months", quality.DEFAULT_MONTHS))
    except ValueError:
        months = quality.DEFAULT_MONTHS
    data = quality.dashboard(request.actor, months, refresh_now=request.GET.get("refresh") == "1")
    return render(request, "portability/quality.html", {
        "data": data, "month_choices": quality.MONTH_CHOICES, "months": data["months"],
    })


def _may_export(actor) -> bool:
    try:
        services.require_export(actor)
    except PermissionDenied:
        return False
    return True


@member_required
def exports(request):
    if not _may_export(request.actor):
        raise Http404
    jobs = list(services.jobs(request.actor)[:20])
    running = any(j.status in ("queued", "running") for j in jobs)
    template = "portability/_exports.html" if request.htmx else "portability/exports.html"
    return render(request, template, {"jobs": jobs, "running": running})


@member_required
@require_POST
def start_export(request):
    if not _may_export(request.actor):
        raise Http404
    try:
        services.request_export(request.actor)
        messages.success(request, _("The export has started. It appears below when it is ready."))
    except DomainError as error:
        show_domain_error(request, error)
    return redirect("portability:exports")


@member_required
def download(request, pk: int):
    if not _may_export(request.actor):
        raise Http404
    try:
        job, path = services.open_download(request.actor, pk)
    except DomainError:
        raise Http404 from None
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name,
                        content_type="application/zip")
