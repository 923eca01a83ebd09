from django.urls import path

from . import views

app_name = "duplicates"

urlpatterns = [
    path("duplicates/", views.queue, name="queue"),
    path("duplicates/scan/", views.start_scan, name="scan"),
    path("duplicates/confirm/", views.bulk_confirm, name="confirm"),
    path("duplicates/pairs/<int:pk>/<str:action>/", views.pair_action, name="pair"),
    path("duplicates/merge/", views.merge_page, name="merge"),
    path("duplicates/merges/", views.history, name="history"),
    path("duplicates/merges/<int:pk>/undo/", views.undo, name="undo"),
    path("settings/duplicates/", views.rule_list, name="rules"),
    path("settings/duplicates/new/", views.rule_edit, name="rule-create"),
    path("settings/duplicates/<int:pk>/", views.rule_edit, name="rule-edit"),
]
