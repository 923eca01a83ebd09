from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("timeline/<str:object_type>/<int:object_id>/", views.timeline_items, name="timeline"),
    path("timeline/<str:object_type>/<int:object_id>/log/", views.log_activity, name="log"),
    path("timeline/<str:object_type>/<int:object_id>/comment/", views.add_comment, name="comment"),
    path("timeline/<str:object_type>/<int:object_id>/tasks/", views.record_tasks_panel, name="record-tasks"),
    path("activities/", views.activity_list, name="activity-list"),
    path("tasks/", views.my_tasks, name="my-tasks"),
    path("tasks/new/", views.create_task, name="task-create"),
    path("tasks/<int:pk>/edit/", views.edit_task, name="task-edit"),
    path("tasks/<int:pk>/complete/", views.complete_task, name="task-complete"),
    path("tasks/<int:pk>/delete/", views.delete_task, name="task-delete"),
    path("follow-up-plans/", views.plan_list, name="plan-list"),
    path("follow-up-plans/new/", views.create_plan, name="plan-create"),
    path("follow-up-plans/<int:pk>/edit/", views.edit_plan, name="plan-edit"),
    path("follow-up-plans/<int:pk>/run/", views.run_plan, name="plan-run"),
    path("follow-up-plans/<int:pk>/delete/", views.delete_plan, name="plan-delete"),
    path("notifications/bell/", views.bell, name="bell"),
    path("notifications/<int:pk>/read/", views.read_notification, name="notification-read"),
    path("notifications/read-all/", views.read_all, name="notifications-read-all"),
]
