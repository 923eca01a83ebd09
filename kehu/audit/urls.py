from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("record/<str:object_type>/<str:object_id>/", views.record_history, name="record-history"),
]
