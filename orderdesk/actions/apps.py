from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "orderdesk.actions"
    label = "actions"
