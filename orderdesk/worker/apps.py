from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "orderdesk.worker"
    label = "worker"
    verbose_name = "Worker"
