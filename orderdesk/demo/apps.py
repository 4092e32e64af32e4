from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "orderdesk.demo"
    label = "demo"
