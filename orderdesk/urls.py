from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/", include("orderdesk.api.urls")),
    path("", include("orderdesk.payments.urls")),
    path("", include("orderdesk.web.urls")),
]
if apps.is_installed("orderdesk.sandboxes"):
    # Development, the demo and the tests; a production configuration has no sandboxes.
    urlpatterns.insert(0, path("sandbox/", include("orderdesk.sandboxes.urls")))
    # The demo checkout page pays through the sandboxes and is served beside them.
    urlpatterns.insert(1, path("c/", include("orderdesk.web.checkout_urls")))
