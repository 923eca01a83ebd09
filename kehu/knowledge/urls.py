from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("knowledge/", views.article_list, name="list"),
    path("knowledge/new/", views.article_create, name="create"),
    path("knowledge/categories/", views.categories, name="categories"),
    path("knowledge/categories/<int:pk>/", views.categories, name="category-edit"),
    path("knowledge/<int:pk>/", views.article_detail, name="detail"),
    path("knowledge/<int:pk>/edit/", views.article_edit, name="edit"),
    path("knowledge/<int:pk>/delete/", views.article_delete, name="delete"),
    path("knowledge/<int:pk>/versions/<int:number>/", views.article_version, name="version"),
    path("knowledge/<int:pk>/versions/<int:number>/restore/", views.article_restore, name="restore"),
    path("help/<slug:slug>/", views.help_home, name="help"),
    path("help/<slug:slug>/search/", views.help_search, name="help-search"),
    path("help/<slug:slug>/c/<int:pk>/", views.help_category, name="help-category"),
    path("help/<slug:slug>/a/<int:pk>/", views.help_article, name="help-article"),
    path("help/<slug:slug>/a/<int:pk>/feedback/", views.help_feedback, name="help-feedback"),
]
