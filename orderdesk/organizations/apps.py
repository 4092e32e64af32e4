from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "orderdesk.organizations"
    label = "organizations"
