from django.urls import path

from . import views

app_name = "sla"
urlpatterns = [
    path("", views.index, name="index"),
    path("calendars/new/", views.create_calendar, name="calendar-create"),
    path("calendars/<int:pk>/", views.calendar_page, name="calendar"),
    path("calendars/<int:pk>/delete/", views.delete_calendar, name="calendar-delete"),
    path("calendars/<int:pk>/exceptions/", views.add_exception, name="exception-add"),
    path(
        "calendars/<int:pk>/exceptions/<int:exception_pk>/delete/",
        views.delete_exception,
        name="exception-delete",
    ),
    path("calendars/<int:pk>/holidays/", views.load_holidays, name="holidays"),
    path("policies/new/", views.create_policy, name="policy-create"),
    path("policies/<int:pk>/", views.policy_page, name="policy"),
    path("policies/<int:pk>/delete/", views.delete_policy, name="policy-delete"),
    path("policies/<int:pk>/move/", views.move_policy, name="policy-move"),
]
