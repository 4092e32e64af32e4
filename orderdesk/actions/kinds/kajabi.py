"""Grant Kajabi offer: the offer's activation and deactivation webhook URLs (providers.md §4.1)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from orderdesk.actions.kinds import http
from orderdesk.actions.kinds.base import ActionError, ActionResult, Kind

if TYPE_CHECKING:
    from orderdesk.actions.models import ActionRun, ActionSnapshot
    from orderdesk.orders.models import Order

# Kajabi answers these when the state is already what was asked for; a repeated run is a success.
ALREADY_GRANTED = "has already been granted"
ALREADY_REVOKED = "grant not found"


def external_user_id(order: Order, email: str | None = None) -> str:
    """Stable per customer of an organization, so a grant repeated or revoked finds the same member.

    Kajabi treats the id case-sensitively and the email case-insensitively, so the id is derived
    from the lower-cased email: the order's, or `email` (a corrected order's former address).
    """
    email = (order.customer_email if email is None else email).strip().lower()
    digest = hashlib.sha256(f"{order.organization_id}:{email}".encode()).hexdigest()
    return f"od_{digest[:24]}"


def member_name(order: Order, *, hide_last_name: bool, email: str = "") -> str:
    """The member's name for Kajabi, which refuses a blank one ("Name: can't be blank",
    providers.md §4.1): the order's first and last name, else the email's local part."""
    last = order.last_name.strip()
    if hide_last_name and last:
        last = f"{last[0]}."
    name = " ".join(part for part in (order.first_name.strip(), last) if part)
    if name:
        return name
    local = (email or order.customer_email).strip().partition("@")[0].strip()
    return local or "Customer"


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to the query it already has (Kajabi's activation URL may
    carry `?send_offer_grant_email=true`); ours win where a name is in both."""
    if not params:
        return url
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


def offer_key(settings: dict[str, object]) -> str:
    """Which Kajabi offer a grant's settings name: its deactivation URL (else its activation
    URL) without the query, which may differ between two configurations of one offer
    (`?send_offer_grant_email=true`); "" when there is none to compare."""
    url = str(settings.get("deactivation_url") or settings.get("activation_url") or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class KajabiGrant(Kind):
    """Settings: activation_url, deactivation_url, send_offer_grant_email, hide_last_name."""

    can_revoke: ClassVar[bool] = True

    def run(self, snapshot: ActionSnapshot, run: ActionRun) -> ActionResult:
        settings = snapshot.settings
        params = (
            {"send_offer_grant_email": "true"} if settings.get("send_offer_grant_email") else {}
        )
        return self._post(
            snapshot,
            run,
            settings.get("activation_url", ""),
            params=params,
            already=ALREADY_GRANTED,
        )

    def revoke(self, snapshot: ActionSnapshot, run: ActionRun) -> ActionResult:
        return self._post(
            snapshot,
            run,
            snapshot.settings.get("deactivation_url", ""),
            params={},
            already=ALREADY_REVOKED,
        )

    def _post(
        self,
        snapshot: ActionSnapshot,
        run: ActionRun,
        url: str,
        *,
        params: dict[str, str],
        already: str,
    ) -> ActionResult:
        if not url:
            raise ActionError("No Kajabi webhook URL is configured", permanent=True)
        order = snapshot.order
        email = run.customer_email or order.customer_email
        payload = {
            "name": member_name(
                order, hide_last_name=bool(snapshot.settings.get("hide_last_name")), email=email
            ),
            "email": email,
            "external_user_id": external_user_id(order, email),
        }
        try:
            response = http.post(
                with_query(url, params),
                service="Kajabi",
                content=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except ActionError as exc:
            if exc.http_status and already in exc.message.lower():
                return ActionResult(http_status=exc.http_status, detail=exc.message)
            raise
        return ActionResult(http_status=response.status_code, detail=http.shorten(response.text))
