"""Fixtures of the platform tests that talk to the store directly (queries, migrations, locks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crossconnect.store import Store, database_url
from tests.support import create_postgres_database, drop_postgres_database, require_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A freshly migrated store on each backend (its PostgreSQL database is dropped afterwards)."""
    database = None
    if request.param == "postgresql":
        require_postgres()
        database = create_postgres_database()
    s = Store(database_url(database, tmp_path))
    s.migrate()
    yield s
    s.dispose()
    if database is not None:
        drop_postgres_database(database)


@pytest.fixture
def twin(store: Store) -> Iterator[Store]:
    """A second Store on the same database: another replica."""
    other = Store(store.url)
    yield other
    other.dispose()
