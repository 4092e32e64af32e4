from django.apps import AppConfig, apps


class SandboxesConfig(AppConfig):
    name = "orderdesk.sandboxes"
    label = "sandboxes"
    verbose_name = "Provider sandboxes"


def sandboxes_installed() -> bool:
    """Whether this configuration has the sandboxes, with their tables and URLs: development,
    the demo and the tests do (settings.SANDBOXES_INSTALLED), production never."""
    return apps.is_installed(SandboxesConfig.name)
