from django.urls import path

from . import views

app_name = "quotes"
urlpatterns = [
    path("quotes/", views.quote_list, name="quote-list"),
    path("quotes/new/", views.quote_new, name="quote-new"),
    path("quotes/line-row/", views.quote_line_row, name="quote-line-row"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote-detail"),
    path("quotes/<int:pk>/edit/", views.quote_edit, name="quote-edit"),
    path("quotes/<int:pk>/totals/", views.quote_totals, name="quote-totals"),
    path("quotes/<int:pk>/prefill/", views.quote_prefill, name="quote-prefill"),
    path("quotes/<int:pk>/delete/", views.quote_delete, name="quote-delete"),
    path("quotes/<int:pk>/print/", views.quote_print, name="quote-print"),
    path(
        "quotes/<int:pk>/<str:action>/",
        views.quote_transition,
        name="quote-transition",
    ),
]
