from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "orderdesk.reports"
    label = "reports"
