from django.urls import path

from . import views

app_name = "tickets"
urlpatterns = [
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_create, name="create"),
    path("tickets/complaints/", views.complaints, name="complaints"),
    path("tickets/<int:pk>/", views.ticket_detail, name="detail"),
    path("tickets/<int:pk>/edit/", views.ticket_edit, name="edit"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="status"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="assign"),
    path("tickets/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("settings/tickets/", views.settings_index, name="settings"),
    path("settings/tickets/rules/new/", views.rule_edit, name="rule-create"),
    path("settings/tickets/rules/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("settings/tickets/rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("settings/tickets/categories/new/", views.category_save, name="category-create"),
    path("settings/tickets/categories/<int:pk>/", views.category_save, name="category-edit"),
    path("settings/tickets/categories/<int:pk>/delete/", views.category_delete, name="category-delete"),
    path("support/<slug:slug>/", views.support_form, name="support"),
]
