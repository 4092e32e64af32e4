from django.urls import URLPattern, URLResolver, path

from orderdesk.payments import webhooks

app_name = "payments"

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "payments/stripe/<int:checkout_id>/webhook/", webhooks.stripe_webhook, name="stripe-webhook"
    ),
    path(
        "payments/paytrail/<int:checkout_id>/success/",
        webhooks.paytrail_redirect,
        {"outcome": "success"},
        name="paytrail-success",
    ),
    path(
        "payments/paytrail/<int:checkout_id>/cancel/",
        webhooks.paytrail_redirect,
        {"outcome": "cancel"},
        name="paytrail-cancel",
    ),
    path(
        "payments/paytrail/<int:checkout_id>/callback/success/",
        webhooks.paytrail_callback,
        name="paytrail-callback-success",
    ),
    path(
        "payments/paytrail/<int:checkout_id>/callback/cancel/",
        webhooks.paytrail_callback,
        name="paytrail-callback-cancel",
    ),
    path(
        "payments/paytrail/<int:checkout_id>/refund/success/",
        webhooks.paytrail_refund_callback,
        name="paytrail-refund-success",
    ),
    path(
        "payments/paytrail/<int:checkout_id>/refund/cancel/",
        webhooks.paytrail_refund_callback,
        name="paytrail-refund-cancel",
    ),
    path("payments/epassi/<int:checkout_id>/return/", webhooks.epassi_return, name="epassi-return"),
    path(
        "payments/epassi/<int:checkout_id>/reject/<str:stamp>/<str:token>/",
        webhooks.epassi_no_payment,
        {"outcome": "reject"},
        name="epassi-reject",
    ),
    path(
        "payments/epassi/<int:checkout_id>/cancel/<str:stamp>/<str:token>/",
        webhooks.epassi_no_payment,
        {"outcome": "cancel"},
        name="epassi-cancel",
    ),
]
