# The planner's statistics for the two columns the orders table searches by part of a word.
#
# `customer_email LIKE '%part%'` (the email filter) and `search_text LIKE '%word%'` (free text)
# are estimated from the column's most common values and histogram. At PostgreSQL's default
# target (100) the histogram holds 101 of the million emails, so a part shared by 3,400 orders
# of a checkout is found in none of them about half the times ANALYZE samples: the planner
# then expects ~60 rows, reads all 3,400 through the trigram index and sorts them (31 ms on
# the million-order benchmark) instead of walking the newest orders (3.8 ms). At 1,000 the
# estimate holds (3,521 for those 3,414) whichever rows ANALYZE samples.
#
# Safe on a live table: SET STATISTICS and ANALYZE take a SHARE UPDATE EXCLUSIVE lock, which
# blocks neither reads nor writes; ANALYZE of these two columns samples 300,000 rows (seconds).

from django.db import migrations

COLUMNS = ("customer_email", "search_text")
TARGET = 1000


def set_targets(apps, schema_editor, target=TARGET):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE orders_order ALTER COLUMN {column} SET STATISTICS {target}"
        )
    schema_editor.execute(f"ANALYZE orders_order ({', '.join(COLUMNS)})")


def reset_targets(apps, schema_editor):
    # -1: back to default_statistics_target.
    set_targets(apps, schema_editor, target=-1)


class Migration(migrations.Migration):
    dependencies = [("orders", "0012_order_change_marker")]

    operations = [migrations.RunPython(set_targets, reset_targets)]
