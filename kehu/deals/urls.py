from django.urls import path

from . import views

app_name = "deals"
urlpatterns = [
    path("opportunities/", views.opportunity_list, name="opportunity-list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity-create"),
    path("opportunities/lines/row/", views.opportunity_line_row, name="opportunity-line-row"),
    path("opportunities/lines/price/", views.opportunity_line_price, name="opportunity-line-price"),
    path("opportunities/lines/totals/", views.opportunity_line_totals, name="opportunity-line-totals"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity-edit"),
    path("opportunities/<int:pk>/delete/", views.opportunity_delete, name="opportunity-delete"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity-move"),
    path("opportunities/<int:pk>/contacts/", views.opportunity_contacts, name="opportunity-contacts"),
    path("deals/board/", views.board, name="board-default"),
    path("deals/board/<int:pk>/", views.board, name="board"),
    path("deals/board/<int:pk>/stages/<int:stage_pk>/", views.board_column, name="board-column"),
    path("settings/pipelines/", views.pipeline_settings, name="pipeline-settings"),
    path("settings/pipelines/change/", views.pipeline_action, name="pipeline-action"),
]
