"""The PostgreSQL export (SQL writes the lines) and the Python one must give the same bytes.

The same data set runs on both databases and must give `EXPECTED` byte for byte; on
PostgreSQL the Python path runs too, against the SQL one, for more time zones.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from orderdesk.orders.models import LineKind, Order, OrderLine, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus
from orderdesk.reports.exports import _python_pieces, stream_orders_csv
from orderdesk.testing import factories

UTC = dt.UTC


def _attempt(order: Order, status: PaymentStatus, method: str, at: dt.datetime, **kw: str) -> None:
    PaymentAttempt.objects.create(
        order=order,
        provider=kw.get("provider", "stripe"),
        method=method,
        status=status,
        amount_minor=order.total_minor,
        currency=order.currency,
        stamp=uuid.uuid4().hex,
        created_at=at,
    )


def _data_set(w: factories.World) -> None:
    summer = dt.datetime(2026, 7, 1, 9, 30, 0, 123456, tzinfo=UTC)
    tricky = factories.order(
        w,
        created_at=summer,
        add_ons=(w.bump,),
        email="+me@example.com",
        first_name='=HYPERLINK("http://evil.example","x")',
        last_name='Smith, "Jr"\nII',
        region="\tTab",
        discount_code=factories.discount_code(w.checkout, code="SPRING,10"),
    )
    Order.objects.filter(pk=tricky.pk).update(
        source="-src", tags=["@home", "a,b"], discount_minor=790
    )
    OrderLine.objects.filter(order=tricky, kind=LineKind.ORDER_BUMP).update(
        name="@Workbook\rPDF", refunded_minor=900
    )
    # A failed retry after the payment went through: the settled attempt describes the order.
    _attempt(tricky, PaymentStatus.FAILED, "mobilepay", summer + dt.timedelta(hours=1))

    # Winter time, a currency without decimals, no lines, no payment, no link or offer.
    bare = factories.order(
        w,
        status=OrderStatus.STARTED,
        currency="SEK",
        created_at=dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        first_name="",
        last_name="",
        country="",
    )
    bare.lines.all().delete()
    Order.objects.filter(pk=bare.pk).update(
        currency="JPY", total_minor=12000, link=None, offer=None, source="", tags=[]
    )

    # Three decimals; no attempt settled, so the latest one describes the order.
    kwd = factories.order(
        w,
        status=OrderStatus.PROCESSING,
        currency="SEK",
        created_at=dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
    )
    Order.objects.filter(pk=kwd.pk).update(currency="KWD", total_minor=12345, tags={})
    OrderLine.objects.filter(order=kwd).update(unit_price_minor=5, total_minor=12345)
    _attempt(
        kwd,
        PaymentStatus.FAILED,
        "",
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        provider="paytrail",
    )

    refunded = factories.order(
        w, status=OrderStatus.PARTIALLY_REFUNDED, created_at=dt.datetime(1890, 6, 1, 12, tzinfo=UTC)
    )
    Order.objects.filter(pk=refunded.pk).update(refunded_minor=7900)
    # Half of the line: its VAT share is 802.5 cents, rounded half up on both paths.
    OrderLine.objects.filter(order=refunded).update(refunded_minor=3950, name="Ääkköset, €")
    # A method code without a label of its own: made readable the same way, and escaped.
    _attempt(
        refunded,
        PaymentStatus.SUCCEEDED,
        "=Osuus_PANKKI",
        dt.datetime(1890, 6, 1, 13, tzinfo=UTC),
    )


def _export(tz: str) -> bytes:
    pieces = stream_orders_csv(Order.objects.order_by("number"), tz=ZoneInfo(tz), chunk_size=3)
    return "".join(pieces).encode()


# Written by the csv module (the Python path) and read through by hand: formula escaping, quotes,
# commas, a newline and a carriage return inside cells, summer and winter time around the
# switch, an offset in seconds (Helsinki's local mean time), 0, 2 and 3 decimals, an order
# without lines or payment, a failed retry after a settled payment, tags and a discount code,
# payment methods by their labels (an unknown code made readable).
EXPECTED = (
    '1,2026-07-01T12:30:00.123456+03:00,2026-07-01T12:30:00.123456+03:00,Paid,\'+me@example.com,"\'=HYPERLINK(""http://evil.example"",""x"")","Smith, ""Jr""\nII",FI,\'\tTab,EUR,88.00,"SPRING,10",7.90,\'-src,"\'@home, a,b",Main checkout,Black Friday Meta,Masterclass launch,Stripe,Card,Succeeded,0.00,Product,Photography Masterclass,1,79.00,25.50,16.05,79.00,0.00,0.00\r\n'
    '1,2026-07-01T12:30:00.123456+03:00,2026-07-01T12:30:00.123456+03:00,Paid,\'+me@example.com,"\'=HYPERLINK(""http://evil.example"",""x"")","Smith, ""Jr""\nII",FI,\'\tTab,EUR,88.00,"SPRING,10",7.90,\'-src,"\'@home, a,b",Main checkout,Black Friday Meta,Masterclass launch,Stripe,Card,Succeeded,0.00,Order bump,"\'@Workbook\rPDF",1,9.00,14.00,1.11,9.00,9.00,1.11\r\n'
    "2,2026-01-15T14:00:00+02:00,,Started,customer@example.com,,,,,JPY,12000,,0,,,Main checkout,,,,,,0,,,,,,,,,\r\n"
    "3,2026-03-29T02:59:59+02:00,,Processing,customer@example.com,Maija,Meikäläinen,FI,,KWD,12.345,,0.000,Meta,,Main checkout,Black Friday Meta,Masterclass launch,Paytrail,,Failed,0.000,Product,Photography Masterclass,1,0.005,25.50,22.330,12.345,0.000,0.000\r\n"
    '4,1890-06-01T13:39:49+01:39:49,1890-06-01T13:39:49+01:39:49,Partially Refunded,customer@example.com,Maija,Meikäläinen,FI,,EUR,79.00,,0.00,Meta,"black-friday, ads",Main checkout,Black Friday Meta,Masterclass launch,Stripe,\'=osuus pankki,Succeeded,79.00,Product,"Ääkköset, €",1,79.00,25.50,16.05,79.00,39.50,8.03\r\n'
)


def test_it_gives_the_same_bytes_on_every_database(world: factories.World) -> None:
    _data_set(world)
    header = "".join(stream_orders_csv(Order.objects.none(), tz=ZoneInfo("UTC")))
    assert _export("Europe/Helsinki") == (header + "".join(EXPECTED)).encode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's")
@pytest.mark.parametrize("tz", ["UTC", "America/St_Johns", "Asia/Kolkata", "Pacific/Chatham"])
def test_the_sql_lines_match_the_python_lines(world: factories.World, tz: str) -> None:
    _data_set(world)
    orders = Order.objects.order_by("-created_at", "-pk")
    python = "".join(_python_pieces(orders, tz=ZoneInfo(tz), chunk_size=2))
    sql = "".join(stream_orders_csv(orders, tz=ZoneInfo(tz), chunk_size=2)).split("\r\n", 1)[1]
    assert sql.encode() == python.encode()
    assert python.count("\r\n") == 5
