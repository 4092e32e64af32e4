# Issue 15, point 4: the live table's change marker (docs/architecture.md, "Live updates").
# Safe on a live million-order table:
# - `change_xid` is a plain nullable column without a default: a catalogue change, no rewrite;
#   orders not written since stay NULL (the first poll of a page compares its rows instead);
# - a trigger keeps it current on every INSERT and UPDATE, whatever the write path (the ORM,
#   `QuerySet.update`, raw SQL): on PostgreSQL the writing transaction's id, on SQLite a
#   counter (SQLite has one writer at a time, so its counter commits in order);
# - the index on (checkout, change_xid) is partial (NOT NULL) and built CONCURRENTLY: empty at
#   first, it holds the orders written since.

from django.db import migrations, models

from orderdesk.lib.migrations import AddIndexConcurrently

POSTGRES = [
    """CREATE OR REPLACE FUNCTION orders_order_change_mark() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_xid := pg_current_xact_id()::text::bigint;
        RETURN NEW;
    END
    $$""",
    """CREATE TRIGGER orders_order_change_mark BEFORE INSERT OR UPDATE ON orders_order
    FOR EACH ROW EXECUTE FUNCTION orders_order_change_mark()""",
]
POSTGRES_BACKWARDS = [
    "DROP TRIGGER IF EXISTS orders_order_change_mark ON orders_order",
    "DROP FUNCTION IF EXISTS orders_order_change_mark()",
]

SQLITE = [
    "CREATE TABLE orders_order_change_counter (id integer PRIMARY KEY, value integer NOT NULL)",
    "INSERT INTO orders_order_change_counter (id, value) VALUES (1, 0)",
    *(
        f"""CREATE TRIGGER orders_order_change_mark_{event.lower()} AFTER {event} ON orders_order
        BEGIN
            UPDATE orders_order_change_counter SET value = value + 1 WHERE id = 1;
            UPDATE orders_order
            SET change_xid = (SELECT value FROM orders_order_change_counter WHERE id = 1)
            WHERE id = NEW.id;
        END"""
        # The trigger's own UPDATE fires no trigger: SQLite's recursive_triggers is off.
        for event in ("INSERT", "UPDATE")
    ),
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS orders_order_change_mark_insert",
    "DROP TRIGGER IF EXISTS orders_order_change_mark_update",
    "DROP TABLE IF EXISTS orders_order_change_counter",
]


def add_trigger(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRES if postgres else SQLITE:
        schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRES_BACKWARDS if postgres else SQLITE_BACKWARDS:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0011_saved_views"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="change_xid",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(add_trigger, drop_trigger, elidable=False),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("change_xid__isnull", False)),
                fields=["checkout", "change_xid"],
                name="order_checkout_change",
            ),
        ),
    ]
