from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("orderdesk.api.urls")),
    path("", include("orderdesk.payments.urls")),
    path("sandbox/", include("orderdesk.actions.sandbox.urls")),
    path("", include("orderdesk.web.urls")),
]
