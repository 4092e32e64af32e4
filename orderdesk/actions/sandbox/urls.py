"""Mounted under /sandbox/; each view answers 404 unless settings.SANDBOXES_ENABLED."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from orderdesk.actions.sandbox import views

app_name = "actions_sandbox"

urlpatterns: list[URLPattern | URLResolver] = [
    path("kajabi/offers/<slug:key>/", views.kajabi_offer, name="kajabi-offer"),
    path("kajabi/offers/<slug:key>/activate", views.kajabi_activate, name="kajabi-activate"),
    path("kajabi/offers/<slug:key>/deactivate", views.kajabi_deactivate, name="kajabi-deactivate"),
    path("kajabi/offers/<slug:key>/mode", views.kajabi_set_mode, name="kajabi-mode"),
    path("webhooks/<slug:key>/", views.webhook_receiver, name="webhook"),
    path("webhooks/<slug:key>/mode", views.webhook_set_mode, name="webhook-mode"),
]
