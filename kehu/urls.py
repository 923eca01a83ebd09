"""URL map: the web UI at /, the REST API at /api/v1/, the health check at /healthz."""

from django.urls import include, path

from kehu.api import api
from kehu.core.views import healthz
from kehu.users.views import set_language

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    # Ours first: it also stores the choice in User.language.
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("kehu.users.urls")),
    path("settings/", include("kehu.workspaces.urls")),
    path("settings/audit/", include("kehu.audit.urls")),
    path("settings/custom-fields/", include("kehu.customfields.urls")),
    path("settings/lead-scoring/", include("kehu.scoring.urls")),
    path("settings/mailboxes/", include("kehu.mailboxes.urls")),
    path("settings/sla/", include("kehu.sla.urls")),
    path("lists/", include("kehu.listviews.urls")),
    path("imports/", include("kehu.imports.urls")),
    path("", include("kehu.portability.urls")),
    path("", include("kehu.customers.urls")),
    path("", include("kehu.commerce.urls")),
    path("", include("kehu.deals.urls")),
    path("", include("kehu.quotes.urls")),
    path("sales/", include("kehu.forecast.urls")),
    path("predictions/", include("kehu.predictions.urls")),
    path("reports/", include("kehu.reports.urls")),
    path("", include("kehu.analytics.urls")),
    path("", include("kehu.leads.urls")),
    path("", include("kehu.knowledge.urls")),
    path("", include("kehu.bot.urls")),
    path("", include("kehu.tickets.urls")),
    path("", include("kehu.surveys.urls")),
    path("", include("kehu.duplicates.urls")),
    path("", include("kehu.activities.urls")),
    path("", include("kehu.web.urls")),
]
