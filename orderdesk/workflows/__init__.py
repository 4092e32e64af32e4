"""Workflows that span the domain apps: what a staff member does to an order, and what the
checkout does when it opens one.

This layer sits above reports, payments and actions and below the interfaces (web, api),
so a verb that needs several apps (Mark as Completed restores refunds, completes the order,
re-runs actions and refreshes the report rollup) is written once here and shared.
"""
