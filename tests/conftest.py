"""Fixtures: one real server per database backend for the session (SQLite always, PostgreSQL
when reachable), reset to the seeded setup before each test that asks for ``server``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import SHARED, Server, create_postgres_database, free_port, postgres_available

BACKENDS = ["sqlite", "postgresql"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", action="append", choices=BACKENDS,
                     help="Run against this store backend (default: both; PostgreSQL when reachable).")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend") or BACKENDS
        metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("CROSSCONNECT_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def session_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database = None
    if backend == "postgresql":
        if not postgres_available():
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL is not reachable in CI (see .ci/run)")
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        database = create_postgres_database()
    server = Server(tmp_path_factory.mktemp(f"server-{backend}") / "data", free_port(), database,
                    ["--page-size", "100"])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(session_server: Server) -> Server:
    session_server.reset()
    return session_server


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not present")
    return SHARED
