"""Survey campaigns in the web UI: list, create/edit a draft, send, and the results page."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kehu.core.api import keyset_page
from kehu.core.errors import DomainError
from kehu.workspaces.access import access_record, require, visible
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .forms import SurveyForm
from .models import Survey, SurveyResponse


@member_required
def survey_list(request):
    actor = request.actor
    require(actor, "view", Survey.object_type)
    rows, next_cursor = keyset_page(
        visible(actor, Survey.objects.all()),
        ordering="-created_at",
        limit=50,
        cursor=request.GET.get("cursor"),
    )
    return render(
        request,
        "surveys/list.html",
        {"surveys": rows, "next_cursor": next_cursor, "can_create": actor.can("create", Survey.object_type)},
    )


def _save(request, survey: Survey | None):
    actor = request.actor
    require(actor, "create" if survey is None else "change", Survey.object_type)
    initial = {}
    if survey is not None:
        initial = {
            name: getattr(survey, name)
            for name in services.SURVEY_FIELDS
            if name not in ("owner_id", "team_id")
        }
    form = SurveyForm(request.POST or None, initial=initial, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            if survey is None:
                survey = services.create_survey(actor, **form.cleaned_data)
            else:
                services.update_survey(actor, survey, **form.cleaned_data)
            return redirect("surveys:detail", survey.pk)
        except DomainError as err:
            show_domain_error(request, err, form)
    return render(request, "surveys/form.html", {"form": form, "survey": survey})


@member_required
def survey_create(request):
    return _save(request, None)


@member_required
def survey_edit(request, pk: int):
    return _save(request, access_record(request.actor, Survey.objects.all(), pk, "change"))


@member_required
def survey_detail(request, pk: int):
    actor = request.actor
    survey = access_record(actor, Survey.objects.select_related("audience_view"), pk)
    nps, average = services.survey_results(survey)
    comments = list(
        SurveyResponse.objects.filter(survey=survey)
        .exclude(comment="")
        .select_related("contact")
        .order_by("-answered_at", "-id")[:50]
    )
    context = {
        "survey": survey,
        "nps": nps if survey.kind == "nps" else None,
        "csat_average": average if survey.kind == "csat" else None,
        "answered": nps.responses,
        "comments": comments,
        "audience_size": services.audience(actor, survey).count()
        if survey.status == Survey.Status.DRAFT
        else None,
        "can_change": actor.can("change", Survey.object_type),
    }
    return render(request, "surveys/detail.html", context)


@member_required
@require_POST
def survey_send(request, pk: int):
    survey = access_record(request.actor, Survey.objects.all(), pk, "change")
    try:
        services.launch(request.actor, survey)
    except DomainError as err:
        show_domain_error(request, err)
    return redirect("surveys:detail", survey.pk)
