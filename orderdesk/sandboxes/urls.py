"""Mounted under /sandbox/ where the app is installed; each view answers 404 unless
settings.SANDBOXES_ENABLED."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from orderdesk.sandboxes import epassi, paytrail, receivers, stripe, views

app_name = "sandboxes"

urlpatterns: list[URLPattern | URLResolver] = [
    path("deliver/", views.deliver, name="deliver"),
    path("<str:provider>/faults/", views.faults, name="faults"),
    re_path(r"^stripe/v1/(?P<path>.+)$", stripe.api, name="stripe-api"),
    path("stripe/pay/<str:intent_id>/", stripe.pay, name="stripe-pay"),
    path("stripe/refunds/<str:refund_id>/settle/", stripe.settle_refund, name="stripe-settle"),
    path("stripe/disputes/", stripe.open_dispute, name="stripe-dispute-open"),
    path("stripe/disputes/<str:dispute_id>/", stripe.update_dispute, name="stripe-dispute-update"),
    path("paytrail/payments", paytrail.payments, name="paytrail-payments"),
    path("paytrail/payments/<str:transaction_id>", paytrail.payment, name="paytrail-payment"),
    path("paytrail/payments/<str:transaction_id>/refund", paytrail.refund, name="paytrail-refund"),
    path("paytrail/pay/<str:transaction_id>/", paytrail.pay, name="paytrail-pay"),
    path(
        "paytrail/refunds/<str:refund_id>/settle/", paytrail.settle_refund, name="paytrail-settle"
    ),
    path("epassi/e_payments/v2", epassi.form, name="epassi-form"),
    path("epassi/pay/<str:stamp>/", epassi.pay, name="epassi-pay"),
    path("epassi/cancel", epassi.cancel, name="epassi-cancel"),
    path("kajabi/offers/<slug:key>/", receivers.kajabi_offer, name="kajabi-offer"),
    path("kajabi/offers/<slug:key>/activate", receivers.kajabi_activate, name="kajabi-activate"),
    path(
        "kajabi/offers/<slug:key>/deactivate",
        receivers.kajabi_deactivate,
        name="kajabi-deactivate",
    ),
    path("kajabi/offers/<slug:key>/mode", receivers.kajabi_set_mode, name="kajabi-mode"),
    path("webhooks/<slug:key>/", receivers.webhook_receiver, name="webhook"),
    path("webhooks/<slug:key>/mode", receivers.webhook_set_mode, name="webhook-mode"),
]
