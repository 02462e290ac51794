"""Serving the portal's static files: ``/portal/`` is the app, ``/portal/static/*`` its assets,
``/favicon.ico`` the icon every browser asks for on every page of the origin (without it the
request fell through to ARM and answered 401, an error in the console of every page).

The portal is a client like any other: it signs in through the authorize endpoint and calls
ARM and Graph with the user's token. ``/portal/config.json`` tells it which tenant and client
to sign in with.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crossconnect.identity.signin import PORTAL_CLIENT_ID

STATIC = resources.files("crossconnect.portal") / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
}


def _file(name: str) -> Response:
    if "/" in name or name.startswith(".") or not any(name.endswith(ext) for ext in TYPES):
        return Response("Not found", 404)
    item = STATIC / name
    if not item.is_file():
        return Response("Not found", 404)
    media_type = TYPES[name[name.rindex(".") :]]
    return Response(item.read_bytes(), media_type=media_type, headers=SECURITY_HEADERS)


def routes(default_tenant: Callable[[], str | None]) -> list[Route]:
    async def app(request: Request) -> Response:
        return _file("index.html")

    async def asset(request: Request) -> Response:
        return _file(request.path_params["name"])

    async def config(request: Request) -> Response:
        tenant = request.query_params.get("tenant") or default_tenant()
        return JSONResponse({"tenantId": tenant, "clientId": PORTAL_CLIENT_ID}, headers={"Cache-Control": "no-store"})

    async def bare(request: Request) -> Response:
        return RedirectResponse("/portal/", 307)

    async def favicon(request: Request) -> Response:
        return _file("favicon.ico")

    return [
        Route("/portal", bare, methods=["GET"]),
        Route("/portal/", app, methods=["GET"]),
        Route("/portal/config.json", config, methods=["GET"]),
        Route("/portal/static/{name}", asset, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
    ]
