from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("workspace/switch/", views.switch_workspace, name="switch-workspace"),
]
