"""What the store keeps, the same on SQLite and PostgreSQL.

PostgreSQL refuses text with NUL characters and text longer than its column; SQLite keeps both.
Neither can hold a lone UTF-16 surrogate in text that must be encoded as UTF-8 again. So the
store checks every value it writes against its column (and the strings and numbers inside JSON
columns) and refuses what either backend could not keep, with ``InvalidValue``; a lookup by such
a value finds nothing on both backends (nothing stored can hold it). The layers above validate
their input first and say more precisely what is wrong; this is the last line, so that no input
ever reaches the database as an error of the database.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import JSON, String, Table

from crossconnect.untrusted import find_problem, text_problem


class InvalidValue(ValueError):
    """A value the store cannot keep (it is refused before anything is written)."""

    def __init__(self, table: str, column: str, problem: str) -> None:
        super().__init__(f"{table}.{column}: {problem}")
        self.table, self.column, self.problem = table, column, problem


@functools.cache
def _columns(table: Table) -> dict[str, tuple[int | None, bool]]:
    """Each column's text length limit and whether it holds JSON (looked up on every write: a
    SQLAlchemy column collection answers slowly)."""
    return {
        c.name: (c.type.length if isinstance(c.type, String) else None, isinstance(c.type, JSON)) for c in table.columns
    }


@functools.cache
def json_columns(table: Table) -> frozenset[str]:
    return frozenset(name for name, (_, is_json) in _columns(table).items() if is_json)


def check_row(table: Table, row: dict[str, Any]) -> None:
    """Raise ``InvalidValue`` for the first value of ``row`` its column cannot keep."""
    columns = _columns(table)
    for name, value in row.items():
        if value is None or name not in columns:
            continue
        limit, is_json = columns[name]
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is None and limit is not None and len(value) > limit:
                problem = f"is {len(value)} characters long, more than the {limit} allowed"
            if problem is not None:
                raise InvalidValue(table.name, name, problem)
        elif is_json:
            found = find_problem(value)
            if found is not None:
                path, problem = found
                raise InvalidValue(table.name, f"{name}.{path}" if path else name, problem)


def unmatchable(where: dict[str, Any]) -> bool:
    """A lookup by one of these values can match no stored row (and PostgreSQL would refuse it)."""
    return any(isinstance(v, str) and text_problem(v) is not None for v in where.values())
