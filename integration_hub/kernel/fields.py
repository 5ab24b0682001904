"""Model fields shared by the hub's apps."""
from __future__ import annotations

from django.db import models


class JSONField(models.JSONField):
    """A JSONField that PostgreSQL bulk inserts as plain multi-row VALUES.

    Django inserts bulk rows through UNNEST(array) where it can; psycopg then escapes every JSON document
    into a text array in pure Python, character by character (most of the sync's insert time). A field with
    a placeholder opts its rows out of UNNEST, and each document is bound once by libpq instead."""

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"
