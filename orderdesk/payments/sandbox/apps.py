from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "orderdesk.payments.sandbox"
    label = "sandbox"
    verbose_name = "Provider sandboxes"
