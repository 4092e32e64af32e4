"""providers.http.call: how Paytrail's and Epassi's HTTP answers become ProviderErrors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderdesk.payments.providers import http
from orderdesk.payments.providers.base import ProviderError
from orderdesk.payments.providers.paytrail import _error_message as paytrail_message

SECRET = "s3cr3t-key"


def answering(monkeypatch: pytest.MonkeyPatch, outcome: httpx.Response | Exception) -> None:
    def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        if isinstance(outcome, Exception):
            raise outcome
        outcome.request = httpx.Request(method, url)
        return outcome

    monkeypatch.setattr(httpx, "request", request)


def failure(**kwargs: Any) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        http.call("Acme", "POST", "https://acme.example/pay", secret=SECRET, **kwargs)
    return raised.value


def test_it_returns_the_json_object_body(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, httpx.Response(201, json={"status": "ok"}))

    response, body = http.call("Acme", "POST", "https://acme.example/pay", secret=SECRET)

    assert (response.status_code, body) == (201, {"status": "ok"})


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_a_body_that_is_no_json_object_reads_as_empty(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    answering(monkeypatch, httpx.Response(200, text=text))

    assert http.call("Acme", "GET", "https://acme.example/", secret=SECRET)[1] == {}


def test_no_answer_in_time_may_be_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, httpx.ReadTimeout("slow"))

    error = failure()

    assert (error.message, error.permanent) == ("Acme did not answer in time", False)


def test_a_connection_error_may_be_retried_and_never_shows_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, httpx.ConnectError(f"refused for {SECRET}"))

    error = failure()

    assert (error.message, error.permanent) == (
        "Acme could not be reached: refused for [redacted]",
        False,
    )


def test_a_4xx_is_permanent_in_the_providers_words(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, httpx.Response(400, json={"message": f"Bad key {SECRET}"}))

    error = failure()

    assert (error.message, error.permanent, error.http_status) == (
        "Acme: Bad key [redacted]",
        True,
        400,
    )


def test_a_5xx_without_a_message_may_be_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, httpx.Response(503, text="<html>down</html>"))

    error = failure()

    assert (error.message, error.permanent, error.http_status) == (
        "Acme: Service Unavailable",
        False,
        503,
    )


def test_paytrail_adds_the_details_it_lists_under_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(
        monkeypatch,
        httpx.Response(400, json={"message": "Validation error", "meta": ["amount", "stamp"]}),
    )

    error = failure(describe=paytrail_message)

    assert error.message == "Acme: Validation error: amount; stamp"
