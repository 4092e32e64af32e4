from django.urls import URLPattern, URLResolver, path

from orderdesk.web.views import (
    account,
    actions,
    auth,
    customers,
    notes,
    orders,
    passwords,
    refunds,
    reports,
    two_factor,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", auth.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("login/verify/", two_factor.verify, name="two_factor_verify"),
    path("account/", account.account, name="account"),
    path("account/password/", account.change_password, name="account_password"),
    path("account/two-factor/", two_factor.setup, name="two_factor_setup"),
    path("checkout/", auth.choose_checkout, name="choose_checkout"),
    path("password-reset/", passwords.request_reset, name="password_reset"),
    path("password-reset/sent/", passwords.reset_sent, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        passwords.choose_password,
        name="password_reset_confirm",
    ),
    path("password-reset/done/", passwords.password_changed, name="password_reset_complete"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/count/", orders.order_count, name="order_count"),
    path("orders/export.csv", reports.orders_export, name="orders_export"),
    path("reports/", reports.report, name="reports"),
    path("reports/export.csv", reports.report_export, name="reports_export"),
    path("customers/", customers.customer, name="customer"),
    path("customers/export/", customers.export_customer, name="customer_export"),
    path("customers/erase/", customers.erase_customer_view, name="customer_erase"),
    path("orders/<int:number>/", orders.order_detail, name="order_detail"),
    path("orders/<int:number>/notes/", notes.add_order_note, name="order_add_note"),
    path("orders/<int:number>/refund/", refunds.order_refund, name="order_refund"),
    path(
        "orders/<int:number>/mark-completed/",
        actions.mark_completed,
        name="order_mark_completed",
    ),
    path(
        "orders/<int:number>/actions/<int:snapshot_id>/rerun/",
        actions.rerun_action,
        name="order_rerun_action",
    ),
    path(
        "orders/<int:number>/actions/<int:snapshot_id>/resend/",
        actions.resend_email,
        name="order_resend_email",
    ),
    path(
        "orders/<int:number>/actions/<int:snapshot_id>/remove-access/",
        actions.retry_access_removal,
        name="order_retry_access_removal",
    ),
]
