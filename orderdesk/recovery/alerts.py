"""Alerts (issue 15): one cause failing for many orders emails the checkout's admins once.

Run by the worker's schedule every minute. A cause (an action configuration and its
normalised error, `causes.action_cause`) that failed for `ALERT_FAILURES` orders of one
checkout within `ALERT_WINDOW_MINUTES` opens a `FailureAlert` and emails the admins, naming the
cause, the count and the link to its group; further failures of the same outage only count.
It recovers when the window has passed without a failure of the cause and the configuration
has succeeded for an order since its last failure (or the cause has no configuration); that
sends one more email. A unique open alert per checkout and cause keeps it to one email per
outage, even with two schedulers at once.

The failures are read from `snapshot_status` (failed snapshots by their last run), an index
range of the window, not a scan of the runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.organizations.models import Checkout, CheckoutRole, OrgRole, User
from orderdesk.recovery.causes import action_cause, normalize_error
from orderdesk.recovery.models import FailureAlert

logger = logging.getLogger(__name__)


@dataclass
class _Cause:
    checkout_id: int
    config_id: int | None
    label: str
    order_ids: set[int] = field(default_factory=set)
    last: dt.datetime | None = None


def _recent_failures(since: dt.datetime) -> dict[tuple[int, str], _Cause]:
    rows = ActionSnapshot.objects.filter(
        status=SnapshotStatus.FAILED, last_run_at__gte=since
    ).values_list(
        "order__checkout_id", "order_id", "config_id", "name", "kind", "last_error", "last_run_at"
    )
    causes: dict[tuple[int, str], _Cause] = {}
    for checkout_id, order_id, config_id, name, kind, error, when in rows:
        key = (checkout_id, action_cause(config_id, error))
        label = f"{name or ActionSnapshot(kind=kind).get_kind_display()}: {normalize_error(error)}"
        cause = causes.setdefault(key, _Cause(checkout_id, config_id, label))
        cause.order_ids.add(order_id)
        if when is not None and (cause.last is None or when > cause.last):
            cause.last = when
    return causes


def check_failure_alerts() -> str:
    """Open alerts for causes failing now, close the ones that recovered; says what it did."""
    now = timezone.now()
    since = now - dt.timedelta(minutes=settings.ALERT_WINDOW_MINUTES)
    failing = _recent_failures(since)
    opened = recovered = 0
    open_alerts = {
        (a.checkout_id, a.cause): a for a in FailureAlert.objects.filter(recovered_at=None)
    }
    for key, cause in failing.items():
        alert = open_alerts.get(key)
        last = cause.last or now
        if alert is not None:
            FailureAlert.objects.filter(pk=alert.pk).update(
                failures=max(alert.failures, len(cause.order_ids)),
                last_failure_at=max(alert.last_failure_at, last),
            )
        elif len(cause.order_ids) >= settings.ALERT_FAILURES:
            opened += _open(key, cause, now, last)
    for key, alert in open_alerts.items():
        if key not in failing and _recovered(alert):
            recovered += _close(alert, now)
    return f"{opened} opened, {recovered} recovered" if opened or recovered else ""


def _open(key: tuple[int, str], cause: _Cause, now: dt.datetime, last: dt.datetime) -> int:
    try:
        with transaction.atomic():
            alert = FailureAlert.objects.create(
                checkout_id=key[0],
                cause=key[1],
                label=cause.label[:300],
                failures=len(cause.order_ids),
                opened_at=now,
                last_failure_at=last,
            )
            transaction.on_commit(lambda: _email(alert, recovered=False))
    except IntegrityError:
        return 0  # another scheduler opened it a moment ago
    return 1


def _recovered(alert: FailureAlert) -> bool:
    config_id = alert.cause.split(":")[1] if alert.cause.startswith("actions:") else "0"
    if config_id == "0":
        return True
    return ActionSnapshot.objects.filter(
        config_id=int(config_id), succeeded_at__gt=alert.last_failure_at
    ).exists()


def _close(alert: FailureAlert, now: dt.datetime) -> int:
    with transaction.atomic():
        closed = FailureAlert.objects.filter(pk=alert.pk, recovered_at=None).update(
            recovered_at=now
        )
        if closed:
            alert.recovered_at = now
            transaction.on_commit(lambda: _email(alert, recovered=True))
    return closed


def admins_of(checkout: Checkout) -> list[User]:
    """Who is told: the organization's owners and admins and the checkout's admins."""
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(
                memberships__organization_id=checkout.organization_id,
                memberships__role__in=[OrgRole.OWNER, OrgRole.ADMIN],
            )
            | Q(
                checkout_memberships__checkout=checkout,
                checkout_memberships__role=CheckoutRole.ADMIN,
            )
        )
        .distinct()
        .order_by("email")
    )


def group_url(alert: FailureAlert) -> str:
    """The Requires attention tab showing the alert's group, in the alert's checkout (an
    admin of several is switched to it)."""
    query = urlencode({"checkout": alert.checkout_id, "tab": "attention", "group": alert.cause})
    return f"{settings.SITE_URL.rstrip('/')}{reverse('orders')}?{query}"


def _email(alert: FailureAlert, *, recovered: bool) -> None:
    checkout = Checkout.objects.get(pk=alert.checkout_id)
    by_language: dict[str, list[str]] = defaultdict(list)
    for user in admins_of(checkout):
        by_language[user.language or settings.LANGUAGE_CODE].append(user.email)
    values = {
        "checkout": checkout.name,
        "cause": alert.label,
        "count": alert.failures,
        "minutes": settings.ALERT_WINDOW_MINUTES,
        "link": group_url(alert),
    }
    for language, recipients in by_language.items():
        with translation.override(language):
            if recovered:
                subject = _("Recovered on %(checkout)s: %(cause)s") % values
                body = (
                    _(
                        "%(cause)s has not failed for %(minutes)s minutes and has succeeded "
                        "again.\n\nOrders it failed before may still need Re-run all:\n%(link)s\n"
                    )
                    % values
                )
            else:
                subject = _("%(count)s orders failed on %(checkout)s: %(cause)s") % values
                body = (
                    _(
                        "%(cause)s failed for %(count)s orders of %(checkout)s within "
                        "%(minutes)s minutes.\n\nThe orders are grouped in Requires attention, "
                        "where Re-run all runs them again once the cause is fixed:\n%(link)s\n\n"
                        "You will get one more email when it recovers, not one per order.\n"
                    )
                    % values
                )
        message = EmailMessage(
            subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, bcc=recipients
        )
        try:
            message.send()
        except OSError:
            logger.exception("The alert email of %s could not be sent", alert)
