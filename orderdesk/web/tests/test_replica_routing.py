"""Which database a read goes to (lib/replica.py, web.middleware.primary_after_writes), without a
replica server: the rules alone. test_replica_reads.py shows them on a real streaming replica."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.test import RequestFactory

from orderdesk.lib import replica
from orderdesk.lib.replica import (
    ReplicaRouter,
    in_this_context,
    pinned_to_primary,
    read_alias,
    reads_replica,
    replica_reads,
)
from orderdesk.web import middleware
from orderdesk.web.middleware import PRIMARY_PIN_COOKIE, primary_after_writes


def _configure(monkeypatch: pytest.MonkeyPatch, configured: bool) -> None:
    monkeypatch.setattr(replica, "replica_configured", lambda: configured)
    monkeypatch.setattr(middleware, "replica_configured", lambda: configured)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(monkeypatch, True)


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    # Also when .ci/run's replica run configures one.
    _configure(monkeypatch, False)


@pytest.mark.django_db(transaction=True)
def test_only_what_a_read_model_asks_for_reads_the_replica(configured: None) -> None:
    assert read_alias() == "default"
    with replica_reads():
        assert read_alias() == "replica"
        with pinned_to_primary():
            assert read_alias() == "default"
        with transaction.atomic():
            assert read_alias() == "default", "a transaction reads what it writes"
    assert read_alias() == "default"
    assert reads_replica(read_alias)() == "replica"


@pytest.mark.django_db(transaction=True)
def test_without_a_replica_everything_reads_the_primary(unconfigured: None) -> None:
    with replica_reads():
        assert read_alias() == "default"


def test_writes_and_migrations_go_to_the_primary() -> None:
    router = ReplicaRouter()
    assert router.db_for_write(object) == "default"
    assert router.allow_migrate("default", "orders") is True
    assert router.allow_migrate("replica", "orders") is False


@pytest.mark.django_db(transaction=True)
def test_a_stream_reads_where_its_view_would(configured: None) -> None:
    def pieces() -> Iterator[str]:
        with replica_reads():
            yield read_alias()
            yield read_alias()

    with pinned_to_primary():
        pinned = in_this_context(pieces())
    free = in_this_context(pieces())

    assert list(pinned) == ["default", "default"]
    assert list(free) == ["replica", "replica"]


def _middleware(status: int = 200) -> tuple[list[str], Callable[[HttpRequest], HttpResponseBase]]:
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        with replica_reads():
            seen.append(read_alias())
        return HttpResponse(status=status)

    return seen, primary_after_writes(view)


@pytest.mark.django_db(transaction=True)
def test_a_write_pins_the_browsers_reads_to_the_primary_for_a_while(
    configured: None,
) -> None:
    factory = RequestFactory()
    seen, wrapped = _middleware()

    get = wrapped(factory.get("/orders/"))
    post = wrapped(factory.post("/orders/7/mark-completed/"))
    pinned = factory.get("/orders/")
    pinned.COOKIES[PRIMARY_PIN_COOKIE] = "1"
    wrapped(pinned)

    assert PRIMARY_PIN_COOKIE not in get.cookies
    cookie = post.cookies[PRIMARY_PIN_COOKIE]
    assert cookie["max-age"] == 5
    assert cookie["httponly"]
    assert seen == ["replica", "replica", "default"]


@pytest.mark.django_db(transaction=True)
def test_a_refused_write_does_not_pin(configured: None) -> None:
    _seen, wrapped = _middleware(status=400)
    response = wrapped(RequestFactory().post("/orders/7/mark-completed/"))
    assert PRIMARY_PIN_COOKIE not in response.cookies


def test_without_a_replica_no_cookie_is_set(unconfigured: None) -> None:
    _seen, wrapped = _middleware()
    response = wrapped(RequestFactory().post("/orders/7/mark-completed/"))
    assert PRIMARY_PIN_COOKIE not in response.cookies
