"""Alerts: one email per outage to the checkout's admins, one more when it recovers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import time_machine
from django.core import mail
from django.utils import timezone
from pytest_django import Settings

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.organizations.models import CheckoutMembership, CheckoutRole
from orderdesk.recovery.alerts import check_failure_alerts
from orderdesk.recovery.models import FailureAlert
from orderdesk.recovery.tests.builders import failing_order, kajabi_config
from orderdesk.testing import factories
from orderdesk.testing.factories import World

START = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)  # Black Friday, a launch
OUTAGE = "Kajabi answered 503: Service Unavailable (request {n}f81c2e)"

Capture = Callable[..., AbstractContextManager[Any]]


def _check(capture: Capture) -> str:
    with capture(execute=True):
        return check_failure_alerts()


def test_one_email_per_outage_and_one_on_recovery(
    world: World, settings: Settings, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.ALERT_FAILURES = 10
    settings.ALERT_WINDOW_MINUTES = 10
    settings.SITE_URL = "https://orders.example.com"
    admin = factories.user("checkout-admin@example.com")
    CheckoutMembership.objects.create(user=admin, checkout=world.checkout, role=CheckoutRole.ADMIN)
    kajabi = kajabi_config(world)
    webhook = kajabi_config(world, name="Notify CRM")

    with time_machine.travel(START, tick=False) as clock:
        for n in range(9):
            failing_order(world, kajabi, OUTAGE.format(n=n), failed_at=START)
        # Another cause, failing often but not for this many orders, and an old failure.
        for n in range(5):
            failing_order(world, webhook, f"CRM answered 500: job {n}", failed_at=START)
        failing_order(
            world, kajabi, OUTAGE.format(n=99), failed_at=START - dt.timedelta(minutes=11)
        )
        assert _check(django_capture_on_commit_callbacks) == ""
        assert mail.outbox == []

        clock.move_to(START + dt.timedelta(minutes=2))
        failing_order(world, kajabi, OUTAGE.format(n=9), failed_at=START + dt.timedelta(minutes=2))
        assert _check(django_capture_on_commit_callbacks) == "1 opened, 0 recovered"
        (email,) = mail.outbox
        assert email.subject == (
            "10 orders failed on Main checkout: Grant Kajabi offer: Kajabi answered …: "
            "Service Unavailable (request …)"
        )
        assert sorted(email.bcc) == sorted(
            ["checkout-admin@example.com", world.alice.email]
        )  # not Sam (customer service) nor Bob (viewer)
        assert (
            f"https://orders.example.com/orders/?checkout={world.checkout.pk}"
            "&tab=attention&group=actions%3A"
        ) in email.body

        # The outage goes on: more failures, no more email.
        for n in range(10, 30):
            failing_order(world, kajabi, OUTAGE.format(n=n), failed_at=timezone.now())
        clock.move_to(START + dt.timedelta(minutes=3))
        assert _check(django_capture_on_commit_callbacks) == ""
        assert len(mail.outbox) == 1
        assert FailureAlert.objects.get().failures == 30

        # Quiet for a window, but nothing has succeeded yet: not recovered.
        clock.move_to(START + dt.timedelta(minutes=14))
        assert _check(django_capture_on_commit_callbacks) == ""
        # Kajabi is back: an order's grant succeeds.
        ok = failing_order(world, kajabi, "", status=SnapshotStatus.PENDING)
        ActionSnapshot.objects.filter(order=ok).update(
            status=SnapshotStatus.SUCCEEDED, succeeded_at=timezone.now()
        )
        clock.move_to(START + dt.timedelta(minutes=15))
        assert _check(django_capture_on_commit_callbacks) == "0 opened, 1 recovered"
        assert len(mail.outbox) == 2
        assert mail.outbox[1].subject.startswith("Recovered on Main checkout: Grant Kajabi")
        assert _check(django_capture_on_commit_callbacks) == ""
        assert len(mail.outbox) == 2

        # The next outage of the same cause is a new alert.
        clock.move_to(START + dt.timedelta(hours=1))
        for n in range(10):
            failing_order(world, kajabi, OUTAGE.format(n=n), failed_at=timezone.now())
        assert _check(django_capture_on_commit_callbacks) == "1 opened, 0 recovered"
        assert len(mail.outbox) == 3
    assert FailureAlert.objects.count() == 2


def test_the_email_is_in_each_admins_language(
    world: World, settings: Settings, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.ALERT_FAILURES = 2
    world.alice.language = "fi"
    world.alice.save()
    kajabi = kajabi_config(world)
    with time_machine.travel(START, tick=False):
        for n in range(2):
            failing_order(world, kajabi, OUTAGE.format(n=n), failed_at=START)
        _check(django_capture_on_commit_callbacks)
    (email,) = mail.outbox
    assert email.bcc == [world.alice.email]
    assert email.subject.startswith("2 tilausta epäonnistui")
