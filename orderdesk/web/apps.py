from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "orderdesk.web"
    label = "web"

    def ready(self) -> None:
        # Registers the deployment checks.
        from orderdesk.web import checks  # noqa: F401
