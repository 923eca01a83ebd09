from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.builder_new, name="new"),
    path("preview/", views.preview, name="preview"),
    path("<int:pk>/", views.report_page, name="report"),
    path("<int:pk>/edit/", views.builder_edit, name="edit"),
    path("<int:pk>/delete/", views.report_delete, name="delete"),
    path("<int:pk>/export.<str:fmt>", views.report_export, name="export"),
    path("<int:pk>/add-to-dashboard/", views.add_to_dashboard, name="add-to-dashboard"),
    path("customer-value/", views.customer_value, name="customer-value"),
    path("dashboards/new/", views.dashboard_create, name="dashboard-create"),
    path("dashboards/<int:pk>/", views.dashboard_page, name="dashboard"),
    path("dashboards/<int:pk>/edit/", views.dashboard_edit, name="dashboard-edit"),
    path("dashboards/<int:pk>/tiles/<int:tile_id>/", views.tile, name="tile"),
]
