from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save


class OrdersConfig(AppConfig):
    name = "orderdesk.orders"
    label = "orders"

    def ready(self) -> None:
        from orderdesk.orders.folding import register_sqlite_functions
        from orderdesk.orders.numbers import on_organization_saved

        connection_created.connect(register_sqlite_functions, dispatch_uid="orders-folding")
        # Named by label: the organizations app sits below orders and never imports it.
        post_save.connect(
            on_organization_saved,
            sender="organizations.Organization",
            dispatch_uid="orders-number-sequence",
        )
