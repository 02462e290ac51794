"""Snapshots of all state as JSON, built and read by the database itself.

A snapshot at 1,000 circuits holds thousands of rows whose JSON columns make most of its megabytes.
Turning each row into Python objects and back (decode the stored JSON, check every string, encode
the whole document again; on import the reverse) cost hundreds of milliseconds. Here:

* export: one statement per table makes that table's rows as JSON text (SQLite ``json_object`` /
  ``json_group_array``, PostgreSQL ``json_agg``), in primary-key order; the document is joined
  from those texts. JSON columns are embedded as stored, floats keep every digit (SQLite: 17
  significant digits, read back as the same float; PostgreSQL prints the shortest exact form).
* import: the rows, already decoded from the request, go to the database as tuples in one
  ``executemany`` per table (JSON columns as JSON text, as the row-by-row path stores them), with
  no per-value walk: the values are checked as the store checks every value
  (``values.check_row``) by looking once at the JSON text they came from (a NUL or a lone
  surrogate can only be there as an escape, ``\\u0000`` or ``\\udXXX``) and by comparing the text
  columns' lengths with the columns'. A snapshot of another shape (missing or extra columns, text
  that may hold one of those characters) takes the row-by-row path of ``Store.import_state``,
  which checks each value in Python.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Float, String, Table

from crossconnect.store.store import STATE_TABLES, Row, Store

# In JSON text with every non-ASCII character escaped: a NUL, or a UTF-16 surrogate that is not
# half of a pair (a literal backslash before "u0000" is flagged too: that text takes the exact path).
# a quick look first (the exact pattern is slow); escapes may be written in either case
_ANY_SURROGATE_OR_NUL = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_ANY_SURROGATE_OR_NUL_BYTES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_SUSPECT_ESCAPE = re.compile(
    r"\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}", re.IGNORECASE
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
    store: Store,
    tables: Mapping[str, Sequence[Row]],
    then: Callable[[Connection], None] | None = None,
    *,
    source_text: str | bytes | None = None,
) -> None:
    """Replace all state with ``tables`` (as ``Store.import_state``, which it falls back to for a
    snapshot of another shape than an export's). ``source_text``: the JSON text ``tables`` was
    decoded from; every string in them came from it, so one look at it for an escaped NUL or lone
    surrogate checks them all (else each table is encoded again to look at)."""
    prepared = _prepared_rows(store, tables, source_text)
    if prepared is None:
        store.import_state(tables, then)
        return
    with store.tx() as c, _page_cache_for_import(store, c):
        for t in reversed(STATE_TABLES):
            c.execute(t.delete())
        for t in STATE_TABLES:
            if prepared.get(t.name):
                c.exec_driver_sql(_insert_sql(store, t), prepared[t.name])
        if not store.is_sqlite:
            store.move_sequences_past_rows(c)
        if then is not None:
            then(c)


# SQLite's page cache while an import runs (KiB). The default (2 MiB) is smaller than what one import
# at 1,000 circuits deletes and writes (several MiB of rows and index pages): pages spilled to the
# WAL and read back made the deletes and inserts twice as slow (54 -> 31 ms inserting, 13 -> 1.4 ms
# deleting). Set on the import's connection only and restored before it commits, which frees the
# pages: a server's memory stays what it was (bench_scale.py's memory row).
_IMPORT_CACHE_KIB = 64 * 1024


@contextmanager
def _page_cache_for_import(store: Store, c: Connection) -> Iterator[None]:
    if not store.is_sqlite:
        yield
        return
    before = c.exec_driver_sql("PRAGMA cache_size").scalar_one()
    c.exec_driver_sql(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        c.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _prepared_rows(
    store: Store, tables: Mapping[str, Sequence[Row]], source_text: str | bytes | None
) -> dict[str, list[tuple[Any, ...]]] | None:
    """Each table's rows as tuples in column order, JSON columns as JSON text (what the row-by-row
    path stores), or None when the rows must take the exact path."""
    known = {t.name: t for t in STATE_TABLES}
    if source_text is not None and _suspect(source_text):
        return None
    prepared: dict[str, list[tuple[Any, ...]]] = {}
    for name, rows in tables.items():
        t = known.get(name)
        if t is None or not isinstance(rows, list):
            return None  # the exact path says what is wrong
        columns = frozenset(t.c.keys())
        if not all(type(row) is dict and row.keys() == columns for row in rows):
            return None
        for column, limit in _text_limits(t):
            if max((len(v) for row in rows if isinstance(v := row[column], str)), default=0) > limit:
                return None  # the exact path names the value
        if source_text is None:
            try:
                text = json.dumps(rows, allow_nan=False)
            except (TypeError, ValueError):
                return None
            if _suspect(text):
                return None
        # each row's values in column order in one call, then its JSON columns encoded in place
        # (one encoder for all: json.dumps with an option builds a new encoder per call)
        names = [c.name for c in t.columns]
        values_of = operator.itemgetter(*names) if len(names) > 1 else lambda row, only=names[0]: (row[only],)
        json_positions = [i for i, c in enumerate(t.columns) if isinstance(c.type, JSON)]
        table_rows: list[tuple[Any, ...]] = []
        try:
            for row in rows:
                values = list(values_of(row))
                for i in json_positions:
                    values[i] = _encode(values[i])
                table_rows.append(tuple(values))
        except (TypeError, ValueError):
            return None
        prepared[name] = table_rows
    return prepared


_encode = json.JSONEncoder(allow_nan=False).encode


def _suspect(text: str | bytes) -> bool:
    """Might ``text`` (JSON) hold a NUL or a lone surrogate? Raw, neither can be in valid JSON
    decoded as UTF-8; escaped, they show as these escapes."""
    if isinstance(text, bytes):
        return (
            _ANY_SURROGATE_OR_NUL_BYTES.search(text) is not None and _SUSPECT_ESCAPE.search(text.decode()) is not None
        )
    return _ANY_SURROGATE_OR_NUL.search(text) is not None and _SUSPECT_ESCAPE.search(text) is not None


def _insert_sql(store: Store, t: Table) -> str:
    columns = ", ".join(f'"{c.name}"' for c in t.columns)
    if store.is_sqlite:
        marks = ", ".join("?" for _ in t.columns)
    else:
        marks = ", ".join("%s::json" if isinstance(c.type, JSON) else "%s" for c in t.columns)
    return f'INSERT INTO "{t.name}" ({columns}) VALUES ({marks})'


def _text_limits(t: Table) -> list[tuple[str, int]]:
    """The text columns of ``t`` and their lengths (SQLite would keep longer text: checked here)."""
    return [
        (c.name, c.type.length)
        for c in t.columns
        if isinstance(c.type, String) and not isinstance(c.type, JSON) and c.type.length
    ]
