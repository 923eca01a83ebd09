from .views import ACCOUNT_PAGES, CONTACT_PAGES

app_name = "customers"
urlpatterns = ACCOUNT_PAGES.urls() + CONTACT_PAGES.urls()
