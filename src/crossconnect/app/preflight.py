"""Checks ``crossconnect serve`` makes before it creates or prints anything: the port, the
``--database`` URL, the data dir and the database connection. Each problem is one
``StartupError`` whose message says what is wrong and what to do next, so a bad flag leaves no
half-seeded data dir, no banner and no traceback behind."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import tempfile
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from crossconnect.app.config import ServerConfig

SUPPORTED = "sqlite:///PATH (an SQLite file) or postgresql://USER@HOST:PORT/DATABASE"
POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}
CONNECT_TIMEOUT_SECONDS = 5


class StartupError(RuntimeError):
    """The server cannot start; the message is one line for the user."""


def prepare(config: ServerConfig) -> socket.socket:
    """Run every check; on success return the listening socket (bound already, so nobody takes
    the port between this check and uvicorn)."""
    check_port(config.port)
    check_fabric(config)
    url = database_url(config.database)
    check_data_dir(config.data_dir)
    if url is not None and url.get_backend_name() == "sqlite":
        check_sqlite_file(url)
    listener = bind(config.host, config.port)
    try:
        if url is not None and url.get_backend_name() == "postgresql":
            check_postgres(url)
    except BaseException:
        listener.close()
        raise
    return listener


def check_fabric(config: ServerConfig) -> None:
    """--fabric netns needs root, namespaces and BIRD: refused up front with the reason."""
    if config.fabric not in ("model", "netns"):
        raise StartupError(f"--fabric '{config.fabric}' is unknown: use model (the default) or netns.")
    if config.fabric_uplink and config.fabric != "netns":
        raise StartupError("--fabric-uplink applies only with --fabric netns.")
    if config.fabric == "netns":
        from crossconnect.fabric.netns import requirements

        problem = requirements.missing() or requirements.uplink_problem(config.fabric_uplink)
        if problem:
            raise StartupError(problem)


def check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise StartupError(f"--port {port} is out of range: a TCP port is 1–65535 (default 8443).")


def database_url(database: str | None) -> URL | None:
    """The parsed ``--database`` URL (None: the default SQLite file in the data dir). A plain path
    is refused rather than taken as an SQLite file name: a typo would silently make a new database."""
    if not database:
        return None
    if "://" not in database:
        raise StartupError(
            f"--database '{database}' is not a database URL: use sqlite:///{database} for an SQLite file, "
            "postgresql://USER@HOST:PORT/DATABASE for PostgreSQL, or leave --database out (SQLite in the data dir)."
        )
    scheme = database.split("://", 1)[0].lower()
    try:
        url = make_url(database)
    except (ArgumentError, ValueError):
        raise StartupError(f"--database: cannot parse the URL ({_hide_password(database)}); use {SUPPORTED}.") from None
    if scheme in SQLITE_SCHEMES:
        if not url.database or url.database == ":memory:":
            raise StartupError(
                "--database: an in-memory SQLite database would be lost at exit; name a file: sqlite:///PATH."
            )
        return url
    if scheme in POSTGRES_SCHEMES:
        if not url.database:
            raise StartupError(
                f"--database {url.render_as_string(hide_password=True)} names no database (PostgreSQL would "
                "use the user's default one): add it, e.g. postgresql://postgres@127.0.0.1:5432/crossconnect "
                "(create it first: createdb crossconnect)."
            )
        return url
    raise StartupError(f"--database: unsupported scheme '{scheme}'; crossconnect supports {SUPPORTED}.")


def check_data_dir(data_dir: Path) -> None:
    """The data dir exists and is writable, or it can be made in an existing, writable parent (a
    missing parent is refused: a typo in the path should not make a tree of directories)."""
    path = data_dir.resolve()
    if path.exists():
        if not path.is_dir():
            raise StartupError(f"--data-dir '{data_dir}' is a file, not a directory: choose another --data-dir.")
        _probe_writable(path, f"--data-dir '{data_dir}'")
        return
    parent = path.parent
    if not parent.exists():
        raise StartupError(
            f"--data-dir '{data_dir}': the parent directory '{parent}' does not exist; create it first "
            "or choose another --data-dir."
        )
    if not parent.is_dir():
        raise StartupError(f"--data-dir '{data_dir}': '{parent}' is not a directory; choose another --data-dir.")
    _probe_writable(parent, f"--data-dir '{data_dir}': cannot create it in '{parent}'")


def check_sqlite_file(url: URL) -> None:
    path = Path(str(url.database)).resolve()
    if not path.parent.is_dir():
        raise StartupError(
            f"--database {url}: the directory '{path.parent}' does not exist; create it first or choose another path."
        )
    if path.exists() and path.is_dir():
        raise StartupError(f"--database {url}: '{path}' is a directory, not an SQLite file.")
    if not path.exists():
        _probe_writable(path.parent, f"--database {url}: cannot create the file in '{path.parent}'")


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port as uvicorn binds it: IPv6 only for a literal IPv6 address (so
    ``localhost`` is 127.0.0.1, as the banner's URL assumes), SO_REUSEADDR."""
    wanted = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, family=wanted, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StartupError(
            f"--host '{host}' does not resolve ({exc.strerror}); use an address such as 127.0.0.1."
        ) from None
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise StartupError(_bind_problem(host, port, exc)) from None
    return listener


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is already in use on {host} (another crossconnect server?): stop it, "
            "or start this one with another --port."
        )
    if exc.errno == errno.EACCES:
        return f"no permission to listen on {where} (ports below 1024 need privileges): use another --port."
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: '{host}' is not an address of this machine; use 127.0.0.1 or 0.0.0.0."
    return f"cannot listen on {where}: {exc.strerror or exc}."


def check_postgres(url: URL) -> None:
    """Connect once, so an unreachable server or a wrong role is one line, not a migration traceback."""
    engine = create_engine(
        url.set(drivername="postgresql+psycopg"), connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise StartupError(describe_database_error(url, exc)) from None
    finally:
        engine.dispose()


def describe_database_error(url: URL | str, exc: BaseException) -> str:
    """One line: which database, the cause (the driver's own words, without the noise) and a hint."""
    target = url.render_as_string(hide_password=True) if isinstance(url, URL) else _hide_password(url)
    lines = [line.strip() for line in str(getattr(exc, "orig", None) or exc).splitlines() if line.strip()]
    # psycopg: 'connection failed: connection to server at "h", port p failed: FATAL:  role ...', then
    # advice lines; with several addresses per host name, one line per attempt
    line = next((x for x in lines if "FATAL" in x or "ERROR" in x), None) or next(
        (x for x in lines if "failed:" in x), lines[0] if lines else type(exc).__name__
    )
    fatal = re.search(r"(?:FATAL|ERROR):\s*(.*)", line)
    reason = " ".join((fatal.group(1) if fatal else re.sub(r"^(- )?connection failed: ", "", line)).split())
    reason = reason.split("(Background on this error", 1)[0].strip()
    lowered = reason.lower()
    if re.search(r'role ".*" does not exist', lowered):
        hint = "create the role (createuser NAME) or put an existing user in the URL"
    elif re.search(r'database ".*" does not exist', lowered):
        hint = "create the database first (createdb NAME)"
    elif "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = "check the user and password in the URL"
    elif "resolve host" in lowered or "could not translate host" in lowered:
        hint = "check the host name in the URL"
    elif "connection refused" in lowered or "timeout" in lowered:
        hint = "is PostgreSQL running and listening there? (pg_isready -h HOST -p PORT)"
    else:
        hint = "check the --database URL"
    return f"cannot use the database {target}: {reason.rstrip('.')}; {hint}."


def _probe_writable(directory: Path, what: str) -> None:
    try:
        handle, probe = tempfile.mkstemp(prefix=".crossconnect-probe-", dir=directory)
    except OSError as exc:
        raise StartupError(f"{what}: {exc.strerror or exc}; choose another path or make it writable.") from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _hide_password(text: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
