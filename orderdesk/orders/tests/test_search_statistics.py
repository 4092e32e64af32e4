"""The planner samples the searched-by-part columns finely enough (migration orders.0013)."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_searched_text_columns_have_a_fine_statistics_target() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("statistics targets are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstattarget FROM pg_attribute"
            " WHERE attrelid = 'orders_order'::regclass AND attname = ANY(%s)",
            [["customer_email", "search_text", "last_name"]],
        )
        targets = dict(cursor.fetchall())
    assert targets["customer_email"] == 1000
    assert targets["search_text"] == 1000
    # Only those two: the rest keep the server's default (-1).
    assert targets["last_name"] == -1
