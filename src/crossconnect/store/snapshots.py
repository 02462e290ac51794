"""Snapshots of all state as JSON, built and read by the database itself.

A snapshot at 1,000 circuits holds thousands of rows whose JSON columns make most of its megabytes.
Turning each row into Python objects and back (decode the stored JSON, check every string, encode
the whole document again; on import the reverse) cost hundreds of milliseconds. Here:

* export: one statement per table makes that table's rows as JSON text (SQLite ``json_object`` /
  ``json_group_array``, PostgreSQL ``json_agg``), in primary-key order; the document is joined
  from those texts. JSON columns are embedded as stored, floats keep every digit (SQLite: 17
  significant digits, read back as the same float; PostgreSQL prints the shortest exact form).
* import: each table's rows go to the database as one JSON text, which the database reads into
  rows itself (SQLite ``json_each``, PostgreSQL ``json_populate_recordset``). The values are
  checked as the store checks every value (``values.check_row``): the text is encoded with every
  non-ASCII character escaped, so a NUL or a lone surrogate anywhere shows as ``\\u0000`` or
  ``\\udXXX``, and the text columns' lengths are compared with the columns'. A snapshot of another shape (missing or extra columns, a string that
  may hold one of those characters, an SQLite without ``->``) takes the row-by-row path of
  ``Store.import_state``, which checks each value in Python.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Float, Integer, String, Table

from crossconnect.store.store import STATE_TABLES, Row, Store

# In JSON text with every non-ASCII character escaped: a NUL, or a UTF-16 surrogate that is not
# half of a pair (a literal backslash before "u0000" is flagged too: that text takes the exact path).
_SUSPECT_ESCAPE = re.compile(
    r"\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}"
)


def export_tables_json(store: Store) -> str:
    """``{"<table>": [rows…], …}`` for every state table, as JSON text, read in one transaction."""
    with store.tx() as c:
        parts = [f"{json.dumps(t.name)}:{c.exec_driver_sql(_export_sql(store, t)).scalar_one()}" for t in STATE_TABLES]
    return "{" + ",".join(parts) + "}"


def _export_sql(store: Store, t: Table) -> str:
    order = ", ".join(f'"{c.name}"' for c in t.primary_key.columns)
    if not store.is_sqlite:
        return f"SELECT coalesce(json_agg(r ORDER BY {order}), '[]')::text FROM \"{t.name}\" r"
    members = ", ".join(f"'{c.name}', {_sqlite_json_value(c)}" for c in t.columns)
    return f'SELECT json_group_array(json_object({members})) FROM (SELECT * FROM "{t.name}" ORDER BY {order})'


def _sqlite_json_value(column: Any) -> str:
    name = f'"{column.name}"'
    if isinstance(column.type, JSON):
        return f"json({name})"  # stored as JSON text: embedded as is (SQL NULL: null)
    if isinstance(column.type, Boolean):
        return f"CASE WHEN {name} IS NULL THEN NULL WHEN {name} THEN json('true') ELSE json('false') END"
    if isinstance(column.type, Float):
        # json_object prints 15 significant digits; 17 read back as the very same float
        return f"CASE WHEN {name} IS NULL THEN NULL ELSE json(printf('%!.17g', {name})) END"
    return name


def import_tables(
    store: Store, tables: Mapping[str, Sequence[Row]], then: Callable[[Connection], None] | None = None
) -> None:
    """Replace all state with ``tables`` (as ``Store.import_state``, which it falls back to for a
    snapshot of another shape than an export's)."""
    texts = _table_texts(store, tables)
    if texts is None:
        store.import_state(tables, then)
        return
    with store.tx() as c:
        for t in reversed(STATE_TABLES):
            c.execute(t.delete())
        for t in STATE_TABLES:
            if t.name in texts:
                c.exec_driver_sql(_import_sql(store, t), (texts[t.name],))
        if not store.is_sqlite:
            store.move_sequences_past_rows(c)
        if then is not None:
            then(c)


def _table_texts(store: Store, tables: Mapping[str, Sequence[Row]]) -> dict[str, str] | None:
    """Each non-empty table's rows as JSON text, or None when the rows must take the exact path."""
    if store.is_sqlite and sqlite3.sqlite_version_info < (3, 38):  # no -> operator
        return None
    known = {t.name: t for t in STATE_TABLES}
    texts: dict[str, str] = {}
    for name, rows in tables.items():
        t = known.get(name)
        if t is None or not isinstance(rows, list):
            return None  # the exact path says what is wrong
        columns = frozenset(t.c.keys())
        if not all(type(row) is dict and row.keys() == columns for row in rows):
            return None
        if rows:
            for column, limit in _text_limits(t):
                if max((len(v) for row in rows if isinstance(v := row[column], str)), default=0) > limit:
                    return None  # the exact path names the value
            try:
                text = json.dumps(rows, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError):
                return None
            if _SUSPECT_ESCAPE.search(text):
                return None
            texts[name] = text
    return texts


def _import_sql(store: Store, t: Table) -> str:
    columns = ", ".join(f'"{c.name}"' for c in t.columns)
    if not store.is_sqlite:
        # a JSON column keeps a JSON null as JSON (what the row-by-row path stores), not SQL NULL
        pg_values = ", ".join(
            f"e -> '{c.name}'" if isinstance(c.type, JSON) else f"(e ->> '{c.name}')::{_pg_cast(c)}" for c in t.columns
        )
        return f'INSERT INTO "{t.name}" ({columns}) SELECT {pg_values} FROM json_array_elements(%s::json) e'
    values = ", ".join(
        f"value -> '$.{c.name}'" if isinstance(c.type, JSON) else f"value ->> '$.{c.name}'" for c in t.columns
    )
    return f'INSERT INTO "{t.name}" ({columns}) SELECT {values} FROM json_each(?)'


def _pg_cast(column: Any) -> str:
    """The type a PostgreSQL value is read as from JSON text (text, not varchar(n): an explicit
    cast would cut a long string short instead of refusing it)."""
    if isinstance(column.type, Boolean):
        return "boolean"
    if isinstance(column.type, Float):
        return "double precision"
    if isinstance(column.type, Integer):
        return "bigint"
    return "text"


def _text_limits(t: Table) -> list[tuple[str, int]]:
    """The text columns of ``t`` and their lengths (SQLite would keep longer text: checked here)."""
    return [
        (c.name, c.type.length)
        for c in t.columns
        if isinstance(c.type, String) and not isinstance(c.type, JSON) and c.type.length
    ]
