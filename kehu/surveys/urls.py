from django.urls import path

from . import dashboard_views, public, views

app_name = "surveys"
urlpatterns = [
    path("survey/<slug:workspace>/<str:token>/", public.answer_page, name="public"),
    path("surveys/", views.survey_list, name="list"),
    path("surveys/new/", views.survey_create, name="create"),
    path("surveys/<int:pk>/", views.survey_detail, name="detail"),
    path("surveys/<int:pk>/edit/", views.survey_edit, name="edit"),
    path("surveys/<int:pk>/send/", views.survey_send, name="send"),
    path("service/", dashboard_views.dashboard_page, name="dashboard"),
    path("service/panels/<slug:name>/", dashboard_views.panel, name="panel"),
]
