from django.urls import path

from . import views

app_name = "listviews"
urlpatterns = [
    path("exports/", views.jobs, name="jobs"),
    path("exports/<int:pk>/download/", views.download, name="download"),
    path("builder/remove/", views.builder_remove, name="builder-remove"),
    path("views/<int:pk>/", views.change_view, name="view-change"),
    path("<str:object_type>/builder/condition/", views.builder_condition, name="builder-condition"),
    path("<str:object_type>/builder/group/", views.builder_group, name="builder-group"),
    path("<str:object_type>/apply/", views.apply, name="apply"),
    path("<str:object_type>/views/", views.save_view, name="view-create"),
    path("<str:object_type>/count/", views.count, name="count"),
    path("<str:object_type>/bulk/", views.bulk, name="bulk"),
    path("<str:object_type>/export.<str:fmt>", views.export, name="export"),
]
