from django.urls import path

from . import views
from .pickers import urlpatterns as picker_urls

app_name = "commerce"
urlpatterns = [
    *picker_urls,
    path("orders/", views.order_list, name="order-list"),
    path("orders/new/", views.order_create, name="order-create"),
    path("orders/line-row/", views.order_line_row, name="order-line-row"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order-edit"),
    path("orders/<int:pk>/status/", views.order_status, name="order-status"),
    path("orders/<int:pk>/delete/", views.order_delete, name="order-delete"),
    path("products/", views.product_list, name="product-list"),
    path("products/new/", views.product_create, name="product-create"),
    path("products/<int:pk>/", views.product_detail, name="product-detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product-edit"),
    path("products/<int:pk>/delete/", views.product_delete, name="product-delete"),
    path("settings/exchange-rates/", views.rate_list, name="rate-list"),
    path("settings/exchange-rates/<int:pk>/delete/", views.rate_delete, name="rate-delete"),
    path("feedback/new/", views.feedback_create, name="feedback-create"),
    path("feedback/<int:pk>/delete/", views.feedback_delete, name="feedback-delete"),
]
