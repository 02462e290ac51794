"""Fixtures of the platform tests that talk to the store directly (queries, migrations, locks)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossconnect.store import Store, database_url
from tests.support import create_postgres_database, drop_postgres_database, postgres_available


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A freshly migrated store on each backend (its PostgreSQL database is dropped afterwards)."""
    database = None
    if request.param == "postgresql":
        if not postgres_available():
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL is not reachable in CI (see .ci/run)")
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
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
