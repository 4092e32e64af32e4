"""Django's admin for orders: a read-mostly escape hatch for platform operators, and the
benchmark's baseline. It spans every organization, so each row names its organization."""

from __future__ import annotations

from django.contrib import admin

from orderdesk.orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = (
        "organization",
        "checkout",
        "number",
        "status",
        "created_at",
        "customer_email",
        "total_minor",
        "currency",
        "source",
        "country",
    )
    list_filter = ("organization", "checkout", "status", "source", "action_health", "created_at")
    search_fields = ("customer_email", "first_name", "last_name")
    list_select_related = ("organization", "checkout")
    ordering = ("-created_at", "-id")
    show_full_result_count = True
    # Status changes only through orders.transitions; the admin only looks.
    readonly_fields = ("status", "action_health")
    raw_id_fields = ("checkout", "organization", "link", "offer", "discount_code")
