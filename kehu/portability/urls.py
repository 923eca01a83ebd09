from django.urls import path

from . import views

app_name = "portability"

urlpatterns = [
    path("data-quality/", views.data_quality, name="quality"),
    path("settings/export/", views.exports, name="exports"),
    path("settings/export/start/", views.start_export, name="start"),
    path("settings/export/<int:pk>/download/", views.download, name="download"),
]
