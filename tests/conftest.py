"""Fixtures: one real server per database backend for the session (SQLite always, PostgreSQL
when reachable), reset to the seeded setup before each test that asks for ``server``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    SHARED,
    Server,
    capture_session,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    require_postgres,
    running_replicas,
)
from tests.support.azure_cli import AzureCli, AzureCliInstallError, ensure_azure_cli
from tests.support.capture_session import CaptureRun

BACKENDS = ["sqlite", "postgresql"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="Run against this store backend (default: both; PostgreSQL when reachable).",
    )


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
        require_postgres()
        database = create_postgres_database()
    server = Server(
        tmp_path_factory.mktemp(f"server-{backend}") / "data", free_port(), database, ["--page-size", "100"]
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if database is not None:
            drop_postgres_database(database)


@pytest.fixture
def server(session_server: Server) -> Server:
    session_server.reset()
    return session_server


@pytest.fixture
def replicas(backend: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two server processes (replicas) on one PostgreSQL database (a SQLite file belongs to one
    process), with the same credentials, certificates, key-encryption key and public URL; the
    database is dropped afterwards."""
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database; a SQLite store is owned by one server process")
    require_postgres()
    with running_replicas(tmp_path) as pair:
        yield pair


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not present")
    return SHARED


# -- every response the suite sees, against Azure's response schemas (docs/behaviour.md) -----------------

CAPTURE_RUN = pytest.StashKey[CaptureRun]()
CAPTURE_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """On by default (tests/support/capture_session.py): the controller decides before any worker
    or server starts; they inherit the decision through the environment."""
    if not hasattr(config, "workerinput"):
        config.stash[CAPTURE_RUN] = capture_session.begin(SHARED / "spec")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every server the tests started wrote its ARM responses into the run's capture directory; at
    the end (on the xdist controller, after all workers) they are validated, the summary printed,
    and a divergence or an undocumented extension fails the run, each named in a block of its own."""
    run = session.config.stash.get(CAPTURE_RUN, None)
    if run is None:
        return  # an xdist worker
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if run.directory is None or run.skipped:
        if run.skipped and terminal is not None:
            terminal.write_line(f"response-schema check skipped: {run.skipped}")
        return
    from tests.support.spec_schema import validate_capture_directory  # jsonschema only when asked

    report = validate_capture_directory(SHARED / "spec", run.directory)
    if terminal is not None and report.validated + sum(report.no_spec.values()):
        terminal.write_sep("=", "response-schema conformance of the captured traffic")
        terminal.write_line(report.summary())
    if report.failed:
        if terminal is not None:
            terminal.write_sep("=", "responses that diverge from Azure's spec", red=True)
            terminal.write_line(report.failure_blocks())
            terminal.write_line(f"(the captured responses are in {run.directory})")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        session.config.stash[CAPTURE_FAILED] = True


def pytest_unconfigure(config: pytest.Config) -> None:
    # Here, not at the session's end: a run that never has a session (--help) made its directory too.
    run = config.stash.get(CAPTURE_RUN, None)
    if run is not None:
        capture_session.finish(run, failed=config.stash.get(CAPTURE_FAILED, False))


# -- the real Azure CLI (tests/support/azure_cli.py) ------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test that uses the real CLI is an azure_cli test, marked or not, so -m "not azure_cli" skips it.
    for item in items:
        if AZURE_CLI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.azure_cli)


@pytest.fixture(scope="session")
def azure_cli_executable(pytestconfig: pytest.Config) -> Path:
    """A working ``az`` of the pinned version, installed into the cached virtualenv when needed."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    context = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with context:
        try:
            return ensure_azure_cli(progress=lambda line: print(line, file=sys.stderr, flush=True))
        except AzureCliInstallError as e:
            error = str(e)
    pytest.fail(error, pytrace=False)


@pytest.fixture
def az(azure_cli_executable: Path, server: Server, tmp_path: Path) -> AzureCli:
    """``az`` against ``server``, with a fresh configuration directory (no cloud registered, logged out)."""
    return AzureCli(azure_cli_executable, server, tmp_path / "azure-config")


@pytest.fixture
def az_partner(az: AzureCli) -> AzureCli:
    """``az`` with the server registered as the active cloud and signed in as the partner principal."""
    az.register_cloud()
    az.login("partner")
    return az


@pytest.fixture
def az_admin(az: AzureCli) -> AzureCli:
    """``az`` signed in as the subscription admin (Owner on both seeded subscriptions)."""
    az.register_cloud()
    az.login("admin")
    return az


AZURE_CLI_FIXTURES = {"azure_cli_executable", "az", "az_partner", "az_admin"}
