from django.urls import URLPattern, URLResolver, path, re_path

from orderdesk.payments.sandbox import epassi, paytrail, stripe, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("deliver/", views.deliver, name="sandbox-deliver"),
    path("<str:provider>/faults/", views.faults, name="sandbox-faults"),
    re_path(r"^stripe/v1/(?P<path>.+)$", stripe.api, name="sandbox-stripe-api"),
    path("stripe/pay/<str:intent_id>/", stripe.pay, name="sandbox-stripe-pay"),
    path(
        "stripe/refunds/<str:refund_id>/settle/", stripe.settle_refund, name="sandbox-stripe-settle"
    ),
    path("paytrail/payments", paytrail.payments, name="sandbox-paytrail-payments"),
    path(
        "paytrail/payments/<str:transaction_id>", paytrail.payment, name="sandbox-paytrail-payment"
    ),
    path(
        "paytrail/payments/<str:transaction_id>/refund",
        paytrail.refund,
        name="sandbox-paytrail-refund",
    ),
    path("paytrail/pay/<str:transaction_id>/", paytrail.pay, name="sandbox-paytrail-pay"),
    path(
        "paytrail/refunds/<str:refund_id>/settle/",
        paytrail.settle_refund,
        name="sandbox-paytrail-settle",
    ),
    path("epassi/e_payments/v2", epassi.form, name="sandbox-epassi-form"),
    path("epassi/pay/<str:stamp>/", epassi.pay, name="sandbox-epassi-pay"),
    path("epassi/cancel", epassi.cancel, name="sandbox-epassi-cancel"),
]
