from django.urls import path

from . import views

app_name = "scoring"
urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("try/", views.try_rules, name="try"),
    path("rules/new/", views.create_rule, name="rule-create"),
    path("rules/<int:pk>/edit/", views.edit_rule, name="rule-edit"),
    path("rules/<int:pk>/delete/", views.delete_rule, name="rule-delete"),
    path("model/", views.model_page, name="model"),
    path("model/retrain/", views.retrain, name="retrain"),
]
