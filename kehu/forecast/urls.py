from django.urls import path

from . import views

app_name = "forecast"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("targets/", views.targets, name="targets"),
    path("panels/<slug:name>/", views.dashboard_panel, name="panel"),
]
