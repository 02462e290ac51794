"""The pytest plugin (entry point ``pytest11``: ``crossconnect = crossconnect.testing.plugin``).

It auto-loads in every pytest run of anyone who installs crossconnect, so it only declares
options (all ``--crossconnect-…``) and fixtures (all starting ``crossconnect_``, plus
``provisioned_cross_connection``): no hooks that touch collection, nothing started until a test
asks for a fixture, and only the standard library and pytest imported here.

pytest-xdist: every worker is its own session, so each worker starts its own server (its own
port and data dir) and tests never see another worker's state. With ``--crossconnect-url`` all
workers share the attached server: run such a session without ``-n``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from crossconnect.testing.clients import Clients
    from crossconnect.testing.clock import Clock
    from crossconnect.testing.server import CrossconnectServer
    from crossconnect.testing.setups import ProvisionedCrossConnection
    from crossconnect.testing.state import ServerState

SCOPES = ("function", "class", "module", "package", "session")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crossconnect", "crossconnect (a local Azure AD + ExpressRoute ARM for tests)")
    group.addoption(
        "--crossconnect-url",
        default=None,
        help="Use the crossconnect server running at this URL instead of starting one (env CROSSCONNECT_URL); "
        "needs --crossconnect-data-dir or --crossconnect-env-file.",
    )
    group.addoption(
        "--crossconnect-data-dir",
        default=None,
        help="Data dir of the server given by --crossconnect-url (env CROSSCONNECT_DATA_DIR).",
    )
    group.addoption(
        "--crossconnect-env-file",
        default=None,
        help="File with the `crossconnect env --json` of the server given by --crossconnect-url.",
    )
    group.addoption(
        "--crossconnect-state-scope",
        default=None,
        choices=SCOPES,
        help="How often crossconnect_state resets the server (default: ini crossconnect_state_scope, or function).",
    )
    parser.addini("crossconnect_state_scope", "How often crossconnect_state resets the server.", default="function")
    parser.addini(
        "crossconnect_serve_args",
        "Extra `crossconnect serve` arguments for the session's server, e.g. --operation-delay 0.5.",
        type="args",
        default=[],
    )


def _state_scope(fixture_name: str, config: pytest.Config) -> Any:
    scope = config.getoption("crossconnect_state_scope") or config.getini("crossconnect_state_scope") or "function"
    if scope not in SCOPES:
        raise pytest.UsageError(f"crossconnect_state_scope must be one of {', '.join(SCOPES)}, not '{scope}'")
    return scope


def _option(config: pytest.Config, name: str, env: str) -> str | None:
    value = config.getoption(name)
    return str(value) if value else os.environ.get(env) or None


@pytest.fixture(scope="session")
def crossconnect_server(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrossconnectServer]:
    """A crossconnect server for the session (per xdist worker): started on a free port in a
    temporary data dir and stopped at the end, or the one at ``--crossconnect-url``. ``.env`` is
    what ``crossconnect env --json`` prints; ``.base_url``, ``.ca_bundle``."""
    from crossconnect.testing.server import CrossconnectServer, ServerStartError

    url = _option(pytestconfig, "crossconnect_url", "CROSSCONNECT_URL")
    try:
        if url:
            data_dir = _option(pytestconfig, "crossconnect_data_dir", "CROSSCONNECT_DATA_DIR")
            env_file = _option(pytestconfig, "crossconnect_env_file", "CROSSCONNECT_ENV_FILE")
            server = CrossconnectServer.attach(
                url, Path(data_dir) if data_dir else None, Path(env_file) if env_file else None
            )
        else:
            extra = list(pytestconfig.getini("crossconnect_serve_args"))
            server = CrossconnectServer.start(tmp_path_factory.mktemp("crossconnect") / "data", extra)
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def crossconnect_clients(crossconnect_server: CrossconnectServer) -> Clients:
    from crossconnect.testing.clients import Clients

    return Clients(crossconnect_server)


@pytest.fixture(scope="session")
def crossconnect_credential(crossconnect_clients: Clients) -> Callable[..., Any]:
    """``crossconnect_credential("partner")``: a ``ClientSecretCredential`` of a seeded principal
    (partner, customer, admin, operator) against the server."""
    return crossconnect_clients.credential


@pytest.fixture(scope="session")
def crossconnect_client(crossconnect_clients: Clients) -> Callable[..., Any]:
    """``crossconnect_client(NetworkManagementClient, "partner")``: any azure-mgmt client class
    with the server's endpoint, ARM scope and CA and a short polling interval."""
    return crossconnect_clients.client


@pytest.fixture(scope="session")
def crossconnect_http(crossconnect_clients: Clients) -> Iterator[Callable[..., Any]]:
    """``crossconnect_http("customer")``: an ``httpx.Client`` on the server with a bearer token
    of that principal (``None``: no token), for raw requests. Closed at the end of the session."""
    opened: list[Any] = []

    def http(role: str | None = "partner", **kwargs: Any) -> Any:
        client = crossconnect_clients.http(role, **kwargs)
        opened.append(client)
        return client

    yield http
    for client in opened:
        client.close()


@pytest.fixture(scope="session")
def _crossconnect_session_state(crossconnect_clients: Clients) -> Iterator[ServerState]:
    from crossconnect.testing.state import ServerState

    state = ServerState(crossconnect_clients)
    yield state
    state.close()


@pytest.fixture(scope=_state_scope)
def crossconnect_state(_crossconnect_session_state: ServerState) -> ServerState:
    """Resets the server to the seeded set-up before each test (or class, module…: ini option
    ``crossconnect_state_scope``); ``save(name)`` / ``restore(name)`` / ``once(name, build)``
    keep named snapshots for the session."""
    _crossconnect_session_state.reset()
    return _crossconnect_session_state


@pytest.fixture
def crossconnect_clock(crossconnect_state: ServerState) -> Clock:
    """The server's clock: ``.advance(seconds)``, ``.freeze()``, ``.real()``, ``.now()``. The
    reset of ``crossconnect_state`` puts it back where the server started (real time, or frozen at
    ``serve --clock-start``), so a test that moves it moves it for itself."""
    from crossconnect.testing.clock import Clock

    return Clock(crossconnect_state)


@pytest.fixture
def provisioned_cross_connection(
    crossconnect_clients: Clients, crossconnect_state: ServerState
) -> Callable[..., ProvisionedCrossConnection]:
    """``provisioned_cross_connection(bandwidth=200, location="Area51")``: a customer circuit and
    its cross connection, Provisioned by the partner; returns circuit, cross_connection,
    service_key and resource_group."""
    from crossconnect.testing.setups import provisioned_cross_connection as build

    def factory(**options: Any) -> ProvisionedCrossConnection:
        return build(crossconnect_clients, **options)

    return factory
