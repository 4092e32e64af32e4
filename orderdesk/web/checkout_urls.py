"""The demo checkout page under /c/, mounted only where the sandboxes are (orderdesk/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from orderdesk.web.views import checkout_page

app_name = "checkout_page"

urlpatterns: list[URLPattern | URLResolver] = [
    path("<int:checkout_id>/<slug:link>/", checkout_page.page, name="page"),
    path("<int:checkout_id>/<slug:link>/add-on/", checkout_page.add_on, name="add_on"),
    path("<int:checkout_id>/<slug:link>/discount/", checkout_page.discount, name="discount"),
    path("<int:checkout_id>/<slug:link>/billing/", checkout_page.billing, name="billing"),
    path("<int:checkout_id>/<slug:link>/pay/", checkout_page.pay, name="pay"),
    path("<int:checkout_id>/<slug:link>/thanks/", checkout_page.thanks, name="thanks"),
]
