"""Pages and htmx fragments of the list toolbar: filter builder rows, applying the builder and the
column picker, saved views, "all N matching" counts, bulk actions, exports and "My exports"."""

import re

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .builder import YES_NO, condition_node, depth_of, new_path, spec_from_form
from .filters import available_fields, encode_spec, is_empty
from .models import ListJob
from .registry import ListConfig, config_for
from .state import all_columns, state_from_request

PATH = re.compile(r"^r(-\d{1,10}){0,3}$")


def _config(object_type: str) -> ListConfig:
    config = config_for(object_type)
    if config is None:
        raise Http404
    return config


def _list_url(config: ListConfig, query: str = "") -> str:
    return reverse(config.list_url_name) + (query if query and query != "?" else "")


def member_options():
    from kehu.workspaces.models import Membership

    return [
        (m.user_id, str(m.user))
        for m in Membership.objects.filter(is_active=True).select_related("user").order_by("user__email")
    ]


# --- filter builder fragments ---------------------------------------------------------------------


@member_required
def builder_condition(request, object_type: str):
    """A condition row: new (``?parent=``) or re-rendered after its field or lookup changed (``?path=``)."""
    config = _config(object_type)
    fields = available_fields(request.actor, config)
    path = request.GET.get("path", "")
    if not PATH.match(path):
        parent = request.GET.get("parent", "r")
        if not PATH.match(parent) or depth_of(parent) > 3:
            raise Http404
        path = new_path(parent)
    node = condition_node(
        path,
        fields,
        request.GET.get(f"c.{path}.field", ""),
        request.GET.get(f"c.{path}.lookup", ""),
        request.GET.get(f"c.{path}.value", ""),
    )
    return render(request, "listviews/_condition.html", _builder_context(request, config, node))


@member_required
def builder_group(request, object_type: str):
    config = _config(object_type)
    parent = request.GET.get("parent", "r")
    if not PATH.match(parent) or depth_of(parent) >= 3:
        raise Http404
    path = new_path(parent)
    from .builder import Node

    group = Node(path, True, children=[condition_node(new_path(path), {})])
    return render(request, "listviews/_group.html", _builder_context(request, config, group))


def _builder_context(request, config: ListConfig, node) -> dict:
    fields = available_fields(request.actor, config)
    needs_members = any(f.type == "user" for f in fields.values())
    return {
        "node": node,
        "list_config": config,
        "fields": list(fields.values()),
        "members": member_options() if needs_members else [],
        "yes_no": YES_NO,
    }


def builder_remove(request):
    """Nothing: htmx swaps the removed row away with it."""
    return HttpResponse("")


@member_required
def apply(request, object_type: str):
    """The builder's or the column picker's form, turned into the list's URL (state in the URL)."""
    config = _config(object_type)
    state = state_from_request(request, config)
    overrides: dict = {"cursor": None}
    if "builder" in request.GET:
        spec = spec_from_form(request.GET)
        overrides["f"] = encode_spec(spec) if not is_empty(spec) else ""
    if "picker" in request.GET:
        known = all_columns(request.actor, config)
        order = [k for k in request.GET.get("order", "").split(",") if k in known] or list(known)
        picked = [k for k in order if k in request.GET.getlist("pick")]
        move = request.GET.get("move", "")
        key, _sep, direction = move.rpartition(":")
        if key in picked:
            i = picked.index(key)
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(picked):
                picked[i], picked[j] = picked[j], picked[i]
        overrides["cols"] = ",".join(picked or config.default_columns[:1])
        if move:
            overrides["picker"] = "open"  # keep the picker open while ordering
    return redirect(_list_url(config, state.query(**overrides)))


# --- saved views ----------------------------------------------------------------------------------


def _state_values(request) -> dict:
    from .filters import decode_spec, empty_spec

    values = {}
    if request.POST.get("f"):
        values["filters"] = decode_spec(request.POST["f"])
    else:
        values["filters"] = empty_spec()
    values["ordering"] = request.POST.get("sort", "")
    values["columns"] = [c for c in request.POST.get("cols", "").split(",") if c]
    return values


@require_POST
@member_required
def save_view(request, object_type: str):
    config = _config(object_type)
    try:
        view = services.create_view(
            request.actor,
            object_type,
            name=request.POST.get("name", ""),
            shared=request.POST.get("shared", "personal"),
            is_default=bool(request.POST.get("is_default")),
            **_state_values(request),
        )
    except DomainError as error:
        show_domain_error(request, error)
        return redirect(_list_url(config, "?" + request.POST.get("back", "")))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(_list_url(config, f"?view={view.pk}"))


@require_POST
@member_required
def change_view(request, pk: int):
    view = services.get_view(request.actor, pk)
    config = _config(view.object_type)
    what = request.POST.get("what", "")
    try:
        if what == "delete":
            services.delete_view(request.actor, view)
            messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
            return redirect(_list_url(config, "?all=1"))
        if what == "state":
            services.update_view(request.actor, view, **_state_values(request))
        else:
            services.update_view(
                request.actor,
                view,
                name=request.POST.get("name", view.name),
                shared=request.POST.get("shared", view.shared),
                is_default=bool(request.POST.get("is_default")),
            )
        messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    except DomainError as error:
        show_domain_error(request, error)
    return redirect(_list_url(config, f"?view={view.pk}"))


# --- counts, bulk actions, exports -----------------------------------------------------------------


@member_required
def count(request, object_type: str):
    """ "All N matching": counted only when asked (a COUNT over a large list is not free)."""
    config = _config(object_type)
    state = state_from_request(request, config)
    total = state.apply().count()
    return render(request, "listviews/_count.html", {"total": total, "config": config})


@require_POST
@member_required
def bulk(request, object_type: str):
    config = _config(object_type)
    back = request.POST.get("back", "")
    everything = request.POST.get("all") == "1"
    ids = None if everything else request.POST.getlist("ids")
    action_key = request.POST.get("action", "")
    action = config.bulk_action(action_key)
    value = request.POST.get(f"value_{action.value_kind}") if action and action.value_kind else None
    params = None
    if everything:
        # The filter state the list was showing, exactly (the form carries its query string).
        from django.http import QueryDict

        state = state_from_request(_with_get(request, QueryDict(back)), config)
        params = state.as_params()
    if action is not None and action.key == "delete" and request.POST.get("confirmed") != "1":
        try:
            records, _requested = services.bulk_targets(request.actor, config, ids=ids, params=params)
        except DomainError as error:
            show_domain_error(request, error)
            return redirect(_list_url(config, "?" + back))
        total = records.count()
        return render(
            request,
            "listviews/confirm_bulk_delete.html",
            {
                "config": config,
                "total": total,
                "ids": ids or [],
                "all": everything,
                "back": back,
                "value": value,
            },
        )
    try:
        result = services.run_bulk(
            request.actor, object_type, action_key, ids=ids, params=params, value=value
        )
    except DomainError as error:
        show_domain_error(request, error)
    else:
        if result.job is not None:
            messages.info(
                request,
                _("%(count)d records are being changed in the background; see My exports for the result.")
                % {"count": result.job.row_count},
            )
        else:
            messages.success(request, result.message())
    return redirect(_list_url(config, "?" + back))


def _with_get(request, query):
    """A shallow stand-in of ``request`` whose GET is ``query`` (to read a list state from a form)."""
    clone = type("StateRequest", (), {})()
    clone.actor, clone.GET, clone.session = request.actor, query, request.session
    return clone


@member_required
def export(request, object_type: str, fmt: str):
    config = _config(object_type)
    state = state_from_request(request, config)
    result = services.export(request.actor, state, fmt=fmt)
    if result.job is not None:
        messages.info(
            request,
            _("The export of %(count)d records runs in the background; download it from My exports.")
            % {"count": result.job.row_count},
        )
        return redirect("listviews:jobs")
    name = f"{config.model._meta.model_name}s.{fmt}"
    return FileResponse(
        result.file, as_attachment=True, filename=name, content_type=services.CONTENT_TYPES[fmt]
    )


@member_required
def jobs(request):
    """My exports: background exports (to download) and bulk changes (their result)."""
    rows = list(services.jobs_of(request.actor)[:50])
    return render(request, "listviews/jobs.html", {"jobs": rows, "labels": _type_labels()})


def _type_labels() -> dict:
    from .registry import REGISTRY

    return {key: config.label for key, config in REGISTRY.items()}


@member_required
def download(request, pk: int):
    job = services.job_for_download(request.actor, pk)
    fmt = job.file_name.rpartition(".")[2]
    return FileResponse(
        services.job_path(job).open("rb"),
        as_attachment=True,
        filename=f"{job.object_type.rpartition('.')[2]}s-{job.pk}.{fmt}",
        content_type=services.CONTENT_TYPES.get(fmt, "application/octet-stream"),
    )


__all__ = ["ListJob"]
