"""ASGI assembly: one Starlette app serving Azure AD, ARM, the operator API and the portal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from crossconnect import clock, entropy
from crossconnect.admin import clock as operator_clock
from crossconnect.admin.routes import AdminApi, AdminContext
from crossconnect.app import proxy_hosts
from crossconnect.app import seed as seeding
from crossconnect.app.config import ServerConfig
from crossconnect.app.data_dir import key_encryption_key, make_private
from crossconnect.app.response_capture import capture_responses
from crossconnect.arm.assembly import build_router
from crossconnect.arm.errors import ArmError, stored_value_refused
from crossconnect.arm.operations import OperationEngine
from crossconnect.arm.protocol import ArmProtocol
from crossconnect.arm.resource_type import TypeRegistry
from crossconnect.arm.services import ArmServices
from crossconnect.arm.settings import ArmSettings
from crossconnect.authz.enforcer import Authorizer
from crossconnect.authz.index import AccessIndex
from crossconnect.authz.repository import RbacRepository
from crossconnect.fabric import backend as fabric_backend
from crossconnect.fabric import faults
from crossconnect.identity.directory import Directory
from crossconnect.identity.endpoints import AadEndpoints
from crossconnect.identity.errors import AadError
from crossconnect.identity.graph import GraphApi, GraphError
from crossconnect.identity.graph_groups import GraphGroupsApi
from crossconnect.identity.groups import GroupDirectory
from crossconnect.identity.keys import KeyEncryptionKeyMismatch, SigningKeys
from crossconnect.identity.signin import UserSignIn
from crossconnect.identity.tokens import TokenService
from crossconnect.limits import MAX_BODY, MAX_SNAPSHOT_BODY, BodyTooLarge, declared_length, limited_receive
from crossconnect.network import registration as network
from crossconnect.network.lab import lab_api as network_lab_api
from crossconnect.network.lab import netns_wire
from crossconnect.network.lab import operator_api as network_operator_api
from crossconnect.portal import routes as portal
from crossconnect.resources import registration as resources
from crossconnect.resources.metadata import metadata_endpoints
from crossconnect.resources.providers import is_registered
from crossconnect.store import InvalidValue, Store, database_url

if TYPE_CHECKING:
    from crossconnect.fabric.netns.fabric import NetnsFabric

log = logging.getLogger("crossconnect")

VERSION = "0.1.0"
# How long a replica on PostgreSQL uses the clock's setting before reading it again: another
# replica's advance is seen within this time (the one that made it sees it at once).
CLOCK_RELOAD_SECONDS = 0.5
ALL_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"]


class FrontDoor:
    """The outermost ASGI app. ARM requests (the hot path) go straight to the ARM protocol, which
    is itself ASGI; Starlette's router and middleware would cost more than a resource GET does.
    Everything else (Azure AD, Graph, portal, operator API, lifespan) goes to Starlette.

    ``//`` in a path counts as ``/``, as on Azure's front end: the Azure CLI builds
    ``{resourceManager}/metadata/endpoints`` from an endpoint that ends in ``/``.

    Every body that goes to Starlette is counted as it streams in (``limits.limited_receive``):
    Azure AD, Graph, the operator and lab API and the portal read at most ``limits.MAX_BODY``
    (the operator's snapshot import ``limits.MAX_SNAPSHOT_BODY``), each answering 413 in its own
    envelope; the ARM protocol counts its own."""

    def __init__(self, arm: ASGIApp, rest: Starlette) -> None:
        self.arm = arm
        self.rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if "//" in path:
                path = re.sub("/{2,}", "/", path)
                scope = {**scope, "path": path}
            if path.startswith(ARM_PREFIXES) or path in ARM_PATHS:
                await self.arm(scope, receive, send)
                return
            limit = MAX_SNAPSHOT_BODY if path == SNAPSHOT_PATH else MAX_BODY
            receive = limited_receive(receive, declared_length(scope["headers"]), limit)
        await self.rest(scope, receive, send)


# Paths that are ARM whatever follows; other unknown paths reach ARM through the catch-all route.
ARM_PREFIXES = ("/subscriptions/", "/providers/")
ARM_PATHS = frozenset({"/subscriptions", "/tenants"})
SNAPSHOT_PATH = "/_crossconnect/snapshot"


async def _body_too_large(request: Request, exc: Exception) -> Response:
    """A body over the limit where the endpoint family has no envelope of its own (the portal, the
    sign-in pages): 413 in ARM's."""
    assert isinstance(exc, BodyTooLarge)
    return JSONResponse({"error": {"code": "RequestEntityTooLarge", "message": exc.message}}, 413)


@dataclass
class Runtime:
    """Everything one server process holds."""

    config: ServerConfig
    store: Store
    directory: Directory
    keys: SigningKeys
    tokens: TokenService
    services: ArmServices
    registry: TypeRegistry
    credentials: dict[str, Any]
    seed_hooks: list[seeding.SeedHook]
    sign_in: UserSignIn
    clock_start: clock.Setting  # where the clock stands after seeding: real time, or --clock-start

    def reset(self) -> None:
        # Back to the seeded set-up, written at the starting time: real time (or --clock-start), every
        # seeded stream from its start. A reset is the start again: how far the clock ran ahead is
        # forgotten (tokens issued ahead of it are not valid yet). The starting setting is stored
        # (committed) first, so that no replica reads the old one while the reset runs.
        start = self.clock_start
        operator_clock.save(self.store, start)
        clock.changed(start)
        entropy.restart()
        seeding.reset(self.store, self.directory, self.credentials, self.seed_hooks)
        self.sign_in.forget()  # pending device codes and wrong-password counts (in the store, not in snapshots)
        clock.changed(start)


def build_runtime(config: ServerConfig) -> Runtime:
    make_private(config.data_dir)
    entropy.seed(config.seed)
    store = Store(database_url(config.database, config.data_dir))
    store.migrate()
    # The clock's setting is a database row every replica reads; a SQLite file has one server.
    clock.use(lambda: operator_clock.load(store), math.inf if store.is_sqlite else CLOCK_RELOAD_SECONDS)
    # A rotated-out key stays accepted while tokens it signed may be valid: their lifetime, plus
    # the clock skew between replicas (one may sign with it just before it sees the rotation).
    keys = SigningKeys(store, key_encryption_key(config.key_file), config.token_lifetime + config.clock_skew)
    try:
        keys.ensure()
    except KeyEncryptionKeyMismatch:
        raise KeyEncryptionKeyMismatch(
            f"the signing keys in the database were encrypted with another key-encryption key than "
            f"'{config.key_file}'. Every replica on one database needs the same key: copy that file from the data "
            "dir of the server that created the database, or point --key-encryption-key-file at a shared copy."
        ) from None
    tokens = TokenService(keys, config.issuer_base, config.token_lifetime)
    directory = Directory(store)
    settings = ArmSettings(
        config.strict_api_versions,
        config.operation_delay,
        config.page_size,
        operation_retention=config.operation_retention,
    )
    engine = OperationEngine(store, settings)
    registry = TypeRegistry(store)
    authorizer = Authorizer(AccessIndex(RbacRepository(store)))
    services = ArmServices(store, settings, tokens, directory, authorizer, engine)
    credentials = seeding.load_or_create_credentials(config.data_dir, config.bare)
    sign_in = UserSignIn(store, directory, tokens)
    hooks: list[seeding.SeedHook] = [seeding.seed_network]
    start = clock.REAL if config.clock_start is None else clock.Setting(frozen_at=config.clock_start)
    if config.clock_start is not None:
        hooks.append(lambda context: operator_clock.save(context.store, start, context.conn))
    runtime = Runtime(config, store, directory, keys, tokens, services, registry, credentials, hooks, sign_in, start)
    return runtime


def build_app(runtime: Runtime) -> FrontDoor:
    network.describe_provider()
    router = build_router(runtime.registry, runtime.services.operations, [resources, network], runtime.services)
    # Test-only: CROSSCONNECT_CAPTURE_RESPONSES records ARM responses (nothing when unset).
    protocol = capture_responses(ArmProtocol(runtime.services, router, is_registered))
    admin = AdminApi(
        AdminContext(
            runtime.store,
            runtime.tokens,
            runtime.reset,
            time.time(),
            "sqlite" if runtime.store.is_sqlite else "postgresql",
            VERSION,
        )
    )
    network_operator_api.register(admin)
    network_lab_api.register(admin, runtime.services.authorizer)
    engine = runtime.services.operations
    engine.extra_delay = lambda resource_key: faults.latency_for(runtime.store, resource_key)
    engine.before_complete = lambda op: _injected_failure(runtime, op)
    if runtime.store.get_meta("seeded") is None:
        clock.changed(runtime.clock_start)  # a fresh store is seeded at the starting time
    seeding.ensure_seeded(runtime.store, runtime.directory, runtime.credentials, runtime.seed_hooks)
    clock.reload()

    wire = _netns_fabric(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if wire is not None:
            await asyncio.to_thread(wire.start)  # sweep leftovers, rebuild the wire from the store
            fabric_backend.install(wire)
        task = asyncio.create_task(runtime.services.operations.run_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if wire is not None:
                fabric_backend.install(None)
                await asyncio.to_thread(wire.stop)  # every namespace, interface and daemon goes

    graph = GraphApi(runtime.store, runtime.directory, runtime.tokens)
    routes = [
        *AadEndpoints(runtime.directory, runtime.tokens, runtime.sign_in).routes(),
        *portal.routes(lambda: runtime.credentials.get("tenant_id")),
        *graph.routes(),
        *GraphGroupsApi(graph, GroupDirectory(runtime.store, RbacRepository(runtime.store).changed)).routes(),
        Route("/metadata/endpoints", metadata_endpoints, methods=["GET"]),
        Route("/{tenant}/discovery/instance", proxy_hosts.instance_discovery, methods=["GET"]),
        *admin.routes(),
        Route("/{path:path}", protocol, methods=ALL_METHODS),  # unknown paths: ARM's 404
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={BodyTooLarge: _body_too_large, InvalidValue: refused_value},
    )
    app.state.runtime = runtime
    return FrontDoor(protocol, app)


def refused_value(request: Request, exc: Exception) -> Response:
    """A value the store refused (``store.InvalidValue``) from an endpoint Starlette serves: a 400
    in the envelope of the endpoint's family, never a 500. (ARM answers it in arm/protocol.py.)"""
    problem = getattr(exc, "problem", str(exc))
    path = request.url.path
    if path.startswith(("/v1.0/", "/beta/")):
        return GraphError(
            400, "Request_BadRequest", f"Invalid value specified: a value of this request {problem}."
        ).response(request)
    if path.startswith("/_crossconnect/"):
        error = stored_value_refused(exc if isinstance(exc, ValueError) else ValueError(problem))
        return JSONResponse(error.body(), error.status)
    return AadError(
        400, "invalid_request", 9002313, f"Invalid request. Request is malformed or invalid: a value {problem}."
    ).response()


def _netns_fabric(runtime: Runtime) -> NetnsFabric | None:
    """The real wire when the server runs ``--fabric netns`` (checked by app.preflight)."""
    if runtime.config.fabric != "netns":
        return None
    from crossconnect.fabric.netns.fabric import NetnsFabric  # BIRD, namespaces: only for this fabric
    from crossconnect.fabric.netns.names import Names

    store = runtime.store
    return NetnsFabric(Names.for_data_dir(runtime.config.data_dir), lambda: netns_wire.desired_state(store))


def _injected_failure(runtime: Runtime, op: dict[str, Any]) -> None:
    """Fault injection: the next N operations on a resource fail with the chosen ARM error."""
    if op["kind"] in ("arpTables", "routeTablesSummary", "routeTables"):
        return
    rule = faults.take_failure(runtime.store, op["resource_key"])
    if rule is not None:
        raise ArmError(rule["message"], rule["code"])
