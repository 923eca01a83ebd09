from django.urls import path

from . import views

app_name = "predictions"
urlpatterns = [
    path("", views.churn_page, name="churn"),
    path("refit/", views.refit_now, name="refit"),
    path("accounts/<int:pk>/action/task/", views.take, name="take"),
    path("accounts/<int:pk>/action/dismiss/", views.dismiss, name="dismiss"),
]
