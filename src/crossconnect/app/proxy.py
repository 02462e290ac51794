"""``crossconnect serve --proxy-port P``: an HTTPS proxy (HTTP CONNECT) for code written for the
public cloud. A tunnel to one of the Azure hosts crossconnect stands in for (``proxy_hosts``) is
terminated here with a certificate the local CA issues for those names, and its bytes go to this
server's own HTTPS listener unchanged, Host header included, so the answers (OpenID
configuration, token issuer, ``nextLink``s, ``Location`` headers) name the public host the client
asked for and the client stays on it. Any other host, and plain-HTTP proxying, is refused with
403 and a message: the proxy never opens a connection off this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from crossconnect.app.proxy_certificate import ensure_host_certificate
from crossconnect.app.proxy_hosts import INTERCEPTED_HOSTS

log = logging.getLogger("crossconnect.proxy")

MAX_HEAD = 16 * 1024
HEAD_TIMEOUT = 30.0


@dataclass(frozen=True)
class Backend:
    """This server's own HTTPS listener, which the proxy forwards intercepted tunnels to."""

    host: str
    port: int
    ca_bundle: Path


class InterceptingProxy:
    def __init__(self, sock: socket.socket, backend: Backend, certificate: Path, key: Path) -> None:
        self.sock = sock
        self.backend = backend
        self.server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_tls.load_cert_chain(str(certificate), str(key))
        self.server_tls.set_alpn_protocols(["http/1.1"])
        self.backend_tls = ssl.create_default_context(cafile=str(backend.ca_bundle))

    async def serve_forever(self) -> None:
        server = await asyncio.start_server(self._handle, sock=self.sock, limit=MAX_HEAD)
        async with server:
            await server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ssl.SSLError):
            pass  # the client went away or spoke no TLS: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = request_line.partition(" ")
        target = rest.partition(" ")[0]
        if method.upper() != "CONNECT":
            await _refuse(
                writer, 405, f"crossconnect proxy: only HTTPS tunnels (CONNECT) are proxied, not '{method} {target}'."
            )
            return
        host, _, port = target.rpartition(":")
        host = host.strip("[]").lower()
        if host not in INTERCEPTED_HOSTS or port != "443":
            await _refuse(
                writer,
                403,
                f"crossconnect proxy: refusing '{target}': only the Azure hosts crossconnect serves "
                f"({', '.join(sorted(INTERCEPTED_HOSTS))}) on port 443 are reachable through this proxy; "
                "it never connects anywhere else. Send other traffic around it (NO_PROXY).",
            )
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(self.server_tls)
        up_reader, up_writer = await asyncio.open_connection(
            self.backend.host, self.backend.port, ssl=self.backend_tls, server_hostname=self.backend.host
        )
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if sink.can_write_eof():
                sink.write_eof()


async def _refuse(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {403: "Forbidden", 405: "Method Not Allowed"}[status]
    body = (message + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


def bind(host: str, port: int) -> socket.socket:
    """The proxy's listening socket, bound before the server starts so a taken port is an error
    at start-up, not a silent thread death."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def start_in_thread(sock: socket.socket, backend: Backend, data_dir: Path) -> threading.Thread:
    """Run the proxy on its own event loop in a daemon thread (uvicorn owns the main loop)."""
    certificate, key = ensure_host_certificate(data_dir, sorted(INTERCEPTED_HOSTS))
    proxy = InterceptingProxy(sock, backend, certificate, key)
    thread = threading.Thread(target=asyncio.run, args=(proxy.serve_forever(),), name="crossconnect-proxy", daemon=True)
    thread.start()
    return thread
