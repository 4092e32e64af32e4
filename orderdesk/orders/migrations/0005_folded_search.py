"""Search the way people type (issue 14): names, source and tag without case and accents, and
several words of free text in any order.

On PostgreSQL: the `unaccent` extension and two IMMUTABLE SQL functions over it (`od_fold`,
`od_search_text`; see orderdesk/orders/folding.py). `Order.search_text` is a stored generated
column, `od_search_text(email, first name, last name)`: a trigram index expression calling the
function instead cost 5-15 µs a row to recheck, which a common full name (thousands of rows)
turned into 90 ms. Indexes:
- `order_search_trgm`: a trigram GIN index on `search_text`, which finds every word of the
  free-text box (replacing the first and last name trigram indexes);
- btree indexes on the folded first name, last name, source and tag, replacing the
  lower-cased and exact ones.
SQLite registers the same functions from Python on each connection and has none of these
indexes. Adding the column rewrites the orders table (about a minute for a million orders).
"""

from django.db import migrations, models

import orderdesk.orders.folding

FUNCTIONS = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE OR REPLACE FUNCTION od_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, value));
CREATE OR REPLACE FUNCTION od_search_text(email text, first_name text, last_name text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent(
        'public.unaccent'::regdictionary, first_name || ' ' || last_name || ' ' || email
    ));
"""

INDEXES = {
    "order_search_trgm": "orders_order USING gin (search_text gin_trgm_ops)",
    "order_first_name_folded": "orders_order (od_fold(first_name), checkout_id)",
    "order_last_name_folded": "orders_order (od_fold(last_name), checkout_id)",
    "order_source_folded": "orders_order (checkout_id, od_fold(source), created_at DESC)",
    "ordertag_folded": "orders_ordertag (checkout_id, od_fold(tag), created_at DESC)",
}
REPLACED = {
    "order_first_name_trgm": "orders_order USING gin (lower(first_name) gin_trgm_ops)",
    "order_last_name_trgm": "orders_order USING gin (lower(last_name) gin_trgm_ops)",
}


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS)


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS od_search_text(text, text, text)")
        schema_editor.execute("DROP FUNCTION IF EXISTS od_fold(text)")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name in REPLACED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in REPLACED.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_attention_created_index")]

    operations = [
        migrations.RunPython(create_functions, drop_functions, elidable=False),
        migrations.AddField(
            model_name="order",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=orderdesk.orders.folding.SearchText(),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(create, drop, elidable=False),
        migrations.RemoveIndex(model_name="order", name="order_first_name"),
        migrations.RemoveIndex(model_name="order", name="order_last_name"),
        migrations.RemoveIndex(model_name="order", name="order_source_created"),
        migrations.RemoveIndex(model_name="ordertag", name="ordertag_lookup"),
    ]
