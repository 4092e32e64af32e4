from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "orderdesk.payments"
    label = "payments"
