"""Project-level app configurations."""

from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    """Django's admin on the operators-only site of orderdesk/admin_site.py."""

    default_site = "orderdesk.admin_site.OperatorAdminSite"
