from django.urls import path

from . import views

app_name = "bot"
urlpatterns = [
    path("help/<slug:slug>/bot/ask/", views.widget_ask, name="widget-ask"),
]
