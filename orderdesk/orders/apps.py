from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OrdersConfig(AppConfig):
    name = "orderdesk.orders"
    label = "orders"

    def ready(self) -> None:
        from orderdesk.orders.folding import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="orders-folding")
