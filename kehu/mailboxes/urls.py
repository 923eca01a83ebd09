from django.urls import path

from . import views

app_name = "mailboxes"
urlpatterns = [
    path("", views.mailbox_list, name="list"),
    path("new/", views.mailbox_create, name="create"),
    path("<int:pk>/", views.mailbox_edit, name="edit"),
    path("<int:pk>/test/", views.mailbox_test, name="test"),
    path("<int:pk>/poll/", views.mailbox_poll, name="poll"),
    path("<int:pk>/delete/", views.mailbox_delete, name="delete"),
]
