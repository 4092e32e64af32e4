"""What the Kajabi grant sends (issue 12, finding 6): the activation URL keeps the query Kajabi
documents (`?send_offer_grant_email=true`), and a blank name falls back to something Kajabi
accepts. Kajabi refuses "Name: can't be blank" (providers.md §4.1), as its sandbox does."""

from __future__ import annotations

import json

import httpx

from orderdesk.actions.kinds.kajabi import member_name, with_query
from orderdesk.actions.models import RunStatus
from orderdesk.actions.tests.builders import kajabi, paid_order, run_queued, snapshot_of
from orderdesk.actions.tests.conftest import Answer
from orderdesk.catalog.models import ActionKind
from orderdesk.sandboxes.models import SandboxKajabiGrant
from orderdesk.testing.factories import World


def test_the_activation_url_keeps_kajabis_query(world: World, sandboxes: str) -> None:
    config = kajabi(world, sandboxes, key="emailed")
    config.settings["activation_url"] += "?send_offer_grant_email=true"
    config.save()
    order = paid_order(world)

    [run] = run_queued(order)

    assert run is not None
    assert run.status == RunStatus.SUCCEEDED
    grant = SandboxKajabiGrant.objects.get(offer__key="emailed")
    assert grant.grant_email_sent


def test_our_parameters_join_the_query_the_url_has(world: World, answer: Answer) -> None:
    kajabi(world, "https://kajabi.test", send_offer_grant_email=True)
    snapshot_url = (
        "https://kajabi.test/kajabi/offers/masterclass/activate?ref=od&send_offer_grant_email=false"
    )
    order = paid_order(world)
    snapshot = snapshot_of(order, ActionKind.KAJABI_GRANT)
    snapshot.settings["activation_url"] = snapshot_url
    snapshot.save()
    sent = answer(httpx.Response(200, json={"status": "granted"}))

    run_queued(order)

    assert [str(r.url) for r in sent] == [
        "https://kajabi.test/kajabi/offers/masterclass/activate?ref=od&send_offer_grant_email=true"
    ]
    assert with_query("https://k.test/a?x=1", {}) == "https://k.test/a?x=1"


def test_a_blank_name_falls_back_to_the_emails_local_part(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes, key="nameless")
    order = paid_order(world, first_name="", last_name=" ", email="maija.m@example.com")

    [run] = run_queued(order)

    assert run is not None
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    grant = SandboxKajabiGrant.objects.get(offer__key="nameless")
    assert grant.name == "maija.m"
    assert member_name(order, hide_last_name=True) == "maija.m"


def test_the_name_sent_is_the_orders_when_it_has_one(world: World, answer: Answer) -> None:
    kajabi(world, "https://kajabi.test", hide_last_name=True)
    order = paid_order(world, first_name="Maija", last_name="Meikäläinen")
    sent = answer(httpx.Response(200, json={"status": "granted"}))

    run_queued(order)

    assert json.loads(sent[0].content)["name"] == "Maija M."
