from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings as SettingsWrapper

from orderdesk.reports.rates import RateUnavailable, euro_rate, rates_file

HISTORY = "Date,USD,SEK,\n2030-01-03,1.2000,11.0000,\n2030-01-02,1.1000,10.0000,\n"


def _zip(text: str) -> bytes:
    # A fixed timestamp: writestr() would stamp the current time, and two archives of the same
    # text made two seconds apart would differ.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(zipfile.ZipInfo("eurofxref-hist.csv", date_time=(2030, 1, 3, 16, 0, 0)), text)
    return buffer.getvalue()


def test_it_uses_the_last_earlier_rate_after_the_newest_one() -> None:
    rate = euro_rate("USD", dt.date(2099, 6, 1))
    assert rate.is_fallback
    assert rate.rate_day < dt.date(2099, 6, 1)


def test_it_refuses_a_currency_the_ecb_does_not_quote() -> None:
    with pytest.raises(RateUnavailable):
        euro_rate("XYZ", dt.date(2026, 3, 13))


def test_it_refreshes_the_history_and_uses_it_at_once(
    settings: SettingsWrapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ECB_RATES_FILE = str(tmp_path / "ecb" / "rates.zip")
    request = httpx.Request("GET", "https://ecb.example")
    monkeypatch.setattr(
        httpx, "get", lambda *a, **k: httpx.Response(200, content=_zip(HISTORY), request=request)
    )
    call_command("refresh_ecb_rates", stdout=io.StringIO())
    assert rates_file() == Path(settings.ECB_RATES_FILE)
    assert euro_rate("USD", dt.date(2030, 1, 2)).per_euro == Decimal("1.1000")
    assert euro_rate("SEK", dt.date(2030, 1, 5)).rate_day == dt.date(2030, 1, 3)


def test_it_keeps_the_old_file_when_the_download_is_broken(
    settings: SettingsWrapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ECB_RATES_FILE = str(tmp_path / "rates.zip")
    Path(settings.ECB_RATES_FILE).write_bytes(_zip(HISTORY))
    request = httpx.Request("GET", "https://ecb.example")

    def broken(*args: Any, **kwargs: Any) -> httpx.Response:
        return httpx.Response(200, content=_zip("Date,SEK,\n2030-01-04,12.0,\n"), request=request)

    monkeypatch.setattr(httpx, "get", broken)
    with pytest.raises(CommandError, match="no USD"):
        call_command("refresh_ecb_rates", stdout=io.StringIO())
    assert Path(settings.ECB_RATES_FILE).read_bytes() == _zip(HISTORY)
    assert list(tmp_path.iterdir()) == [tmp_path / "rates.zip"]
