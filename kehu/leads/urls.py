from django.urls import path

from . import views
from .pickers import urlpatterns as picker_urls

app_name = "leads"
urlpatterns = [
    path("leads/", views.lead_list, name="list"),
    path("leads/new/", views.lead_create, name="create"),
    path("leads/<int:pk>/", views.lead_detail, name="detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="edit"),
    path("leads/<int:pk>/delete/", views.lead_delete, name="delete"),
    path("leads/<int:pk>/assign/", views.lead_assign, name="assign"),
    path("leads/<int:pk>/keep/", views.lead_keep, name="keep"),
    path("leads/<int:pk>/merge/<int:into>/", views.lead_merge, name="merge"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="convert"),
    path("settings/leads/", views.settings_index, name="settings"),
    path("settings/leads/forms/new/", views.webform_edit, name="webform-create"),
    path("settings/leads/forms/<int:pk>/", views.webform_edit, name="webform-edit"),
    path("settings/leads/forms/<int:pk>/delete/", views.webform_delete, name="webform-delete"),
    path("settings/leads/rules/new/", views.rule_edit, name="rule-create"),
    path("settings/leads/rules/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("settings/leads/rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("f/<str:token>", views.public_form, name="public-form"),
    *picker_urls,
]
