from django.urls import path

from . import views

app_name = "workspaces"
urlpatterns = [
    path("", views.workspace_settings, name="settings"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/", views.member_change, name="member-change"),
    path("roles/", views.roles, name="roles"),
    path("roles/<int:pk>/", views.role_edit, name="role"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team_edit, name="team"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team-delete"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
