"""URL map: the web UI at /, the REST API at /api/v1/, the health check at /healthz."""

from django.urls import include, path

from kehu.api import api
from kehu.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("kehu.web.urls")),
]
