from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("analytics/", views.overview, name="segments"),
    path("settings/analytics/", views.settings_page, name="settings"),
    path("settings/analytics/recompute/", views.recompute, name="recompute"),
    path("analytics/accounts/<int:account_id>/lifecycle/", views.lifecycle, name="lifecycle"),
]
