"""Fixtures of the fabric tests: a netns-fabric server for the modules that need the real wire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import Server, create_postgres_database, drop_postgres_database, free_port, require_postgres


@pytest.fixture(scope="module")
def netns_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One netns server per module and store backend (the wire is rebuilt from either store)."""
    database = None
    if backend == "postgresql":
        require_postgres()
        database = create_postgres_database()
    server = Server(tmp_path_factory.mktemp("netns") / "data", free_port(), database, ["--fabric", "netns"])
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if database is not None:
            drop_postgres_database(database)
