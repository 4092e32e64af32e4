"""Staff API tokens: from the raw value a client sends to the live token it stands for."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from orderdesk.organizations.models import ApiToken, Checkout, hash_secret

# `last_used_at` is a hint for people auditing tokens; writing it once a minute is enough.
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


def api_token_for(raw: str) -> ApiToken | None:
    """The live token with this raw value (`od_...`), or None if unknown or revoked.

    Marks the token used, at most once per TOKEN_USE_RESOLUTION, with one conditional UPDATE
    so a busy client does not write the row on every call.
    """
    if not raw.startswith("od_"):
        return None
    token = (
        ApiToken.objects.select_related("checkout__organization")
        .filter(token_hash=hash_secret(raw), revoked_at=None)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at=None) | Q(last_used_at__lt=now - TOKEN_USE_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


def checkout_by_key(raw: str, extra: RawSQL) -> tuple[Checkout, int] | None:
    """The checkout whose ingest key this is (`ck_...`), and the value of `extra` (an SQL
    expression with its parameters, e.g. the address's recent key guesses) read in the same
    statement; None for an unknown key.

    Every checkout call starts here, so it is one statement written as SQL: the ORM's query
    for it cost ~1 ms of CPU per call (issue 16). Its organization loads when first used.
    """
    fields = [field.attname for field in Checkout._meta.concrete_fields]
    table = Checkout._meta.db_table
    extra_sql, extra_params = extra.sql, list(extra.params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(fields)}, ({extra_sql}) FROM {table} "  # noqa: S608
            "WHERE ingest_key_hash = %s",
            [*extra_params, hash_secret(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Checkout.from_db(connection.alias, fields, row[:-1]), int(row[-1])
