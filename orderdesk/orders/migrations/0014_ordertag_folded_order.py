# Issue 16, point 6: a tag's order ids in the orders table's order from the index alone.
# `ordertag_folded_order` is `ordertag_folded` with the order id after created_at, so the ids
# of a tag's orders newest first by (created_at, id) are one index-only range scan
# (`orders.queries.tag_index_ids`). It replaces the old index, which it covers (same leading
# columns), so tagging an order still writes the same number of indexes.
# Safe on a live table: the new index is built CONCURRENTLY first, then the old one is dropped
# CONCURRENTLY, so the tag filter always has one of them and no write is blocked.

from django.db import migrations, models

from orderdesk.lib.migrations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0013_search_statistics"),
        ("organizations", "0006_drop_last_order_number"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ordertag",
            index=models.Index(
                fields=["checkout", "folded", "-created_at", "-order"],
                name="ordertag_folded_order",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="ordertag",
            name="ordertag_folded",
        ),
    ]
