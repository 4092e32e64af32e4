from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "orderdesk.recovery"
    label = "recovery"
    verbose_name = "Recovery"
