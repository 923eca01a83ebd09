"""Suggestions for the product picker of order lines (``kehu.core.pickers``): active products by
name or SKU, 20 at a time."""

from django.urls import path

from kehu.core.pickers import picker_query, picker_response
from kehu.workspaces.views import member_required

from .queries import products_for


def product_label(product) -> str:
    return f"{product.name} · {product.sku}"


def pick_product(request):
    records = products_for(request.actor, q=picker_query(request), active=True)
    return picker_response(
        request,
        records.only("id", "name", "sku", "category"),
        label=product_label,
        detail=lambda p: p.category,
    )


urlpatterns = [path("products/pick/", member_required(pick_product), name="product-pick")]
