"""Running the HTTPS server: certificates, the data-dir lock, the banner, uvicorn."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO

import uvicorn

from crossconnect.app import http_protocol
from crossconnect.app.application import build_app, build_runtime
from crossconnect.app.certificates import ensure_certificates
from crossconnect.app.config import ConfigError, ServerConfig
from crossconnect.app.data_dir import KeyFileError, make_private, write_private
from crossconnect.app.seed import CUSTOMER_SUBSCRIPTION, PROVIDER_SUBSCRIPTION
from crossconnect.app.terminal import Terminal
from crossconnect.identity.keys import KeyEncryptionKeyMismatch

SERVER_FILE = "server.json"


class DataDirLocked(RuntimeError):
    pass


# What makes ``serve`` refuse to start with one line (the command line catches exactly these): a
# data dir held by another process, a bad flag, an unreadable key file, or a key-encryption key
# that cannot open the signing keys stored in the database.
STARTUP_REFUSALS: tuple[type[Exception], ...] = (DataDirLocked, ConfigError, KeyFileError, KeyEncryptionKeyMismatch)


def lock_data_dir(data_dir: Path) -> IO[str]:
    """One SQLite server per data dir: a second one would fight over the same file."""
    make_private(data_dir)
    handle = open(data_dir / "server.lock", "a+")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        other = handle.read().strip() or "unknown"
        raise DataDirLocked(
            f"Another crossconnect server (pid {other}) is already using the data dir '{data_dir}'. "
            "Stop it first, or start this one with another --data-dir."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def proxy_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(config: ServerConfig, console: Terminal | None = None, listener: socket.socket | None = None) -> None:
    """Run until stopped; ``listener`` is a socket already bound to host:port (see app.preflight)."""
    console = console or Terminal()
    # Everything this process creates is its owner's alone: the SQLite file and the -wal and -shm
    # files SQLite makes beside it, certificates, keys, server.json and server.lock.
    os.umask(0o077)
    make_private(config.data_dir)
    lock = (
        lock_data_dir(config.data_dir)
        if not config.database or config.database.startswith("sqlite") or "://" not in (config.database or "")
        else None
    )
    certs = ensure_certificates(config.data_dir, config.host)
    proxy_socket = None
    if config.proxy_port is not None:
        from crossconnect.app import proxy  # the intercepting proxy: loaded only when asked for

        proxy_socket = proxy.bind(config.host, config.proxy_port)
    runtime = build_runtime(config)
    app = build_app(runtime)
    server_file: dict[str, object] = {
        "base_url": config.base_url,
        "ca_bundle": str(certs.ca.resolve()),
        "pid": os.getpid(),
    }
    if proxy_socket is not None:
        backend_host = config.base_url.split("//", 1)[1].rsplit(":", 1)[0].strip("[]")
        proxy.start_in_thread(proxy_socket, proxy.Backend(backend_host, config.port, certs.ca), config.data_dir)
        server_file["proxy_url"] = proxy_url(config.host, proxy_socket.getsockname()[1])
    write_private(config.data_dir / SERVER_FILE, json.dumps(server_file).encode())
    _banner(console, config, str(certs.ca.resolve()), runtime.credentials)
    if "proxy_url" in server_file:
        console.print(
            f"  proxy:          {server_file['proxy_url']} intercepts management.azure.com, login.microsoftonline.com, "
            "graph.microsoft.com, …  (crossconnect env --proxy)"
        )
    uvicorn_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        ssl_certfile=str(certs.certificate),
        ssl_keyfile=str(certs.key),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        **http_protocol.uvicorn_options(),  # limits on the request head (431, 414)
    )
    try:
        uvicorn.Server(uvicorn_config).run(sockets=[listener] if listener is not None else None)
    finally:
        runtime.store.dispose()
        if lock is not None:
            lock.close()
        console.print("[dim]crossconnect stopped.[/dim]")


def _banner(console: Terminal, config: ServerConfig, ca: str, creds: dict) -> None:
    console.print(f"[bold green]crossconnect[/bold green] listening on [bold]{config.base_url}[/bold] (Azure AD + ARM)")
    console.print(f"  CA certificate: {ca}")
    console.print(
        f"  data dir:       {config.data_dir.resolve()}  (database: {'PostgreSQL' if config.database and config.database.startswith('postgres') else 'SQLite'})"
    )
    if "partner" in creds:
        console.print("  test setup:")
        console.print(f"    [green]✓[/green] tenant {creds['tenant_id']} ({creds['tenant_domain']})")
        console.print(
            f"    [green]✓[/green] {PROVIDER_SUBSCRIPTION} {creds['partner']['subscription_id']}, Microsoft.Network registered"
        )
        console.print(
            f"    [green]✓[/green] {CUSTOMER_SUBSCRIPTION} {creds['customer']['subscription_id']}, Microsoft.Network registered"
        )
        console.print("    [green]✓[/green] partner and customer client applications with client secrets")
        if "admin" in creds:
            console.print(
                "    [green]✓[/green] roles: partner Network Contributor (provider sub), customer Contributor "
                "(customer sub), admin Owner (both)"
            )
    else:
        console.print("  bare start: only the operator credential is seeded")
    if config.seed is not None:
        console.print(
            f"  [bold yellow]warning:[/bold yellow] --seed {config.seed}: keys, GUIDs and the credentials of a fresh "
            "data dir are predictable; for tests only, never on a shared network."
        )
    if config.clock_start is not None:
        console.print("  clock: frozen at the --clock-start instant (crossconnect clock advance|real)")
    console.print(f"  next: [bold]crossconnect env --data-dir {config.data_dir}[/bold] prints credentials and exports")
    console.print("  Ctrl-C stops the server.")
