from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from zoneinfo import ZoneInfo

from django.http import StreamingHttpResponse
from django.utils import translation

from orderdesk.catalog.models import DiscountCode, DiscountKind
from orderdesk.orders.models import LineKind, Order, OrderLine, OrderStatus
from orderdesk.payments.methods import METHOD_LABELS, method_label
from orderdesk.payments.models import PaymentAttempt
from orderdesk.reports.exports import HEADER, escape, orders_csv_response, stream_orders_csv
from orderdesk.testing import factories

HELSINKI = ZoneInfo("Europe/Helsinki")


def read(orders: object, **kwargs: object) -> list[dict[str, str]]:
    text = "".join(stream_orders_csv(orders, tz=HELSINKI, **kwargs))  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(text)))


def test_it_writes_one_row_per_line_with_order_and_line_columns(world: factories.World) -> None:
    code = DiscountCode.objects.create(
        checkout=world.checkout, code="SPRING", kind=DiscountKind.FIXED
    )
    order = factories.order(
        world,
        created_at=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
        add_ons=(world.bump,),
        email="maija@example.com",
        region="Uusimaa",
        discount_code=code,
    )
    Order.objects.filter(pk=order.pk).update(discount_minor=500, refunded_minor=900)
    OrderLine.objects.filter(order=order, kind=LineKind.ORDER_BUMP).update(refunded_minor=900)

    main, bump = read(Order.objects.all())

    assert list(main) == list(HEADER)
    assert main == {
        "Order number": "1",
        "Created": "2026-03-02T10:00:00+02:00",
        "Paid": "2026-03-02T10:00:00+02:00",
        "Status": "Paid",
        "Customer email": "maija@example.com",
        "First name": "Maija",
        "Last name": "Meikäläinen",
        "Country": "FI",
        "Region": "Uusimaa",
        "Currency": "EUR",
        "Order total": "88.00",
        "Discount code": "SPRING",
        "Discount amount": "5.00",
        "Source": "Meta",
        "Tags": "black-friday, ads",
        "Checkout": "Main checkout",
        "Checkout link": "Black Friday Meta",
        "Offer": "Masterclass launch",
        "Payment provider": "Stripe",
        "Payment method": "Card",
        "Payment status": "Succeeded",
        "Order refunded": "9.00",
        "Line kind": "Product",
        "Product": "Photography Masterclass",
        "Quantity": "1",
        "Unit price": "79.00",
        "VAT rate": "25.50",
        "VAT amount": "16.05",
        "Line total": "79.00",
        "Line refunded": "0.00",
        "Line VAT refunded": "0.00",
    }
    assert (bump["Line kind"], bump["Product"], bump["Line total"], bump["VAT rate"]) == (
        "Order bump",
        "Workbook PDF",
        "9.00",
        "14.00",
    )
    assert (bump["VAT amount"], bump["Line refunded"], bump["Order number"]) == (
        "1.11",
        "9.00",
        "1",
    )
    assert bump["Line VAT refunded"] == "1.11"


def test_it_uses_each_currency_minor_unit(world: factories.World) -> None:
    order = factories.order(world, currency="SEK")
    Order.objects.filter(pk=order.pk).update(currency="JPY", total_minor=12000)
    (row,) = read(Order.objects.all())
    assert row["Order total"] == "12000"


def test_it_exports_only_the_orders_it_is_given(world: factories.World) -> None:
    factories.order(world, email="paid@example.com")
    factories.order(world, email="started@example.com", status=OrderStatus.STARTED)
    rows = read(Order.objects.filter(status=OrderStatus.PAID))
    assert {r["Customer email"] for r in rows} == {"paid@example.com"}


def test_it_keeps_an_order_without_lines_and_without_payment(world: factories.World) -> None:
    order = factories.order(world, status=OrderStatus.STARTED)
    order.lines.all().delete()
    (row,) = read(Order.objects.all())
    assert (row["Status"], row["Paid"], row["Payment provider"], row["Product"]) == (
        "Started",
        "",
        "",
        "",
    )


def test_payment_methods_have_the_labels_the_table_shows(world: factories.World) -> None:
    for method in METHOD_LABELS:
        order = factories.order(world, email=f"{method}@example.com")
        PaymentAttempt.objects.filter(order=order).update(method=method)

    rows = read(Order.objects.all())
    finnish = read(Order.objects.all(), language="fi")

    shown = {row["Customer email"].split("@")[0]: row["Payment method"] for row in rows}
    assert shown == {method: str(label) for method, label in METHOD_LABELS.items()}
    assert shown["google_pay"] == "Google Pay"
    assert shown["osuuspankki"] == "OP"
    with translation.override("fi"):
        assert {row["Maksutapa"] for row in finnish} == {
            method_label(method) for method in METHOD_LABELS
        }
        assert method_label("card") == "Kortti"


def test_the_excel_file_starts_with_a_byte_order_mark(world: factories.World) -> None:
    factories.order(world, last_name="Järvinen")

    plain = "".join(stream_orders_csv(Order.objects.all(), tz=HELSINKI))
    excel = "".join(stream_orders_csv(Order.objects.all(), tz=HELSINKI, excel=True))

    assert excel.encode("utf-8").startswith(b"\xef\xbb\xbfOrder number,")
    assert excel == "\ufeff" + plain
    assert plain.startswith("Order number,")


def test_it_escapes_cells_that_a_spreadsheet_would_run(world: factories.World) -> None:
    factories.order(
        world,
        first_name='=HYPERLINK("http://evil.example","click")',
        last_name="+SUM(A1:A9)",
        email="@me@example.com",
        region="-2+3",
    )
    OrderLine.objects.update(name="\t=1+1")
    rows = read(Order.objects.all())
    assert rows[0]["First name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["Last name"] == "'+SUM(A1:A9)"
    assert rows[0]["Customer email"] == "'@me@example.com"
    assert rows[0]["Region"] == "'-2+3"
    assert rows[0]["Product"] == "'\t=1+1"
    assert escape("Meta") == "Meta"


def test_it_streams_in_chunks_as_orders_are_read(world: factories.World) -> None:
    for _ in range(7):
        factories.order(world)
    pieces = list(stream_orders_csv(Order.objects.order_by("number"), tz=HELSINKI, chunk_size=3))
    # The header, then chunks of 3, 3 and 1 orders.
    assert len(pieces) == 4
    assert pieces[1].splitlines()[0].startswith("1,")
    response = orders_csv_response(Order.objects.all(), tz=HELSINKI, filename="orders.csv")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'


def _peak_bytes(orders: int, world: factories.World) -> int:
    while Order.objects.count() < orders:
        factories.order(world, add_ons=(world.bump,))
    tracemalloc.start()
    try:
        size = 0
        for piece in stream_orders_csv(Order.objects.order_by("pk"), tz=HELSINKI, chunk_size=20):
            size += len(piece)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_it_keeps_memory_flat_as_rows_grow(world: factories.World) -> None:
    small = _peak_bytes(40, world)
    large = _peak_bytes(200, world)
    # Five times the rows; a buffered export would need about five times the memory.
    assert large < small * 1.5
