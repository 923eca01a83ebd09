from .address_views import address_urls
from .pickers import urlpatterns as picker_urls
from .views import ACCOUNT_PAGES, CONTACT_PAGES

app_name = "customers"
urlpatterns = (
    picker_urls + ACCOUNT_PAGES.urls() + CONTACT_PAGES.urls() + address_urls(ACCOUNT_PAGES, CONTACT_PAGES)
)
