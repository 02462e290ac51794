"""Bad input to the command line, as a new user types it: every refusal is one line that says what
to do next (never a traceback), with a non-zero exit, and leaves nothing behind (no data dir, no
SQLite file in the current directory, no banner)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from crossconnect.cli.main import app
from tests.cli.support import one_line_error
from tests.support import REPO, Server, free_port, postgres_admin_url, require_postgres


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """An empty current directory: whatever a refused command leaves behind shows up here."""
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def serve(*args: str) -> Any:
    """``crossconnect serve`` in-process (the refusals come before anything starts)."""
    return CliRunner().invoke(app, ["serve", *args], catch_exceptions=False)


def refused(workdir: Path, args: list[str], *phrases: str) -> str:
    result = serve("--port", str(free_port()), *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""  # no banner
    line = one_line_error(result.stderr, *phrases)
    assert list(workdir.iterdir()) == [], list(workdir.iterdir())  # no data dir, no database file
    return line


# -- serve -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("port", ["99999", "0", "65536", "-1"])
def test_port_out_of_range(workdir: Path, port: str) -> None:
    result = serve("--port", port)
    assert result.exit_code == 2 and result.stdout == ""
    one_line_error(result.stderr, f"--port {port}", "1–65535")
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    ("database", "phrases"),
    [
        ("garbage", ["'garbage' is not a database URL", "sqlite:///garbage", "postgresql://"]),
        ("crossconnect.db", ["is not a database URL", "sqlite:///crossconnect.db"]),
        ("mysql://user:secret@127.0.0.1/crossconnect", ["unsupported scheme 'mysql'", "sqlite:///", "postgresql://"]),
        ("mongodb+srv://cluster/db", ["unsupported scheme 'mongodb+srv'"]),
        ("postgresql://", ["names no database", "createdb"]),
        ("postgresql://postgres@127.0.0.1:5432", ["names no database"]),
        ("sqlite://", ["in-memory", "sqlite:///PATH"]),
        ("sqlite:////nonexistent-crossconnect/x.db", ["'/nonexistent-crossconnect' does not exist"]),
    ],
)
def test_database_urls_that_are_refused(workdir: Path, database: str, phrases: list[str]) -> None:
    line = refused(workdir, ["--database", database], *phrases)
    assert "secret" not in line


def test_unreachable_postgresql(workdir: Path) -> None:
    # nothing listens on a port that was just free
    url = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/crossconnect"
    line = refused(workdir, ["--database", url], "Connection refused", "pg_isready")
    assert "secret" not in line and "***" in line


def test_unknown_postgresql_host(workdir: Path) -> None:
    refused(workdir, ["--database", "postgresql://postgres@nohost.invalid/crossconnect"], "nohost.invalid", "host")


@pytest.fixture
def reachable_postgres() -> str:
    require_postgres()
    return postgres_admin_url().rsplit("/", 1)[0]  # postgresql://user@host:port


def test_postgresql_role_that_does_not_exist(workdir: Path, reachable_postgres: str) -> None:
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    url = make_url(reachable_postgres).set(username=role, database="postgres").render_as_string(hide_password=False)
    refused(workdir, ["--database", url], f'role "{role}" does not exist', "createuser")


def test_postgresql_database_that_does_not_exist(workdir: Path, reachable_postgres: str) -> None:
    name = f"crossconnect_missing_{uuid.uuid4().hex[:8]}"
    refused(workdir, ["--database", f"{reachable_postgres}/{name}"], f'database "{name}" does not exist', "createdb")


def test_data_dir_whose_parent_does_not_exist(workdir: Path) -> None:
    refused(workdir, ["--data-dir", "missing/parent/.crossconnect"], "missing/parent", "does not exist")


def test_data_dir_that_is_a_file(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    a_file = tmp_path_factory.mktemp("elsewhere") / "state"
    a_file.write_text("not a directory")
    refused(workdir, ["--data-dir", str(a_file)], str(a_file), "not a directory")
    refused(workdir, ["--data-dir", str(a_file / "data")], "not a directory")


def test_data_dir_in_a_read_only_directory(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    parent = tmp_path_factory.mktemp("read-only")
    parent.chmod(0o555)
    try:
        if os.access(parent, os.W_OK):  # root ignores the mode: use a directory nobody may write to
            parent = Path("/sys")
            try:
                tempfile.TemporaryFile(dir=parent).close()
                pytest.skip("no read-only directory to try on this machine")
            except OSError:
                pass
        refused(workdir, ["--data-dir", str(parent / "data")], str(parent), "choose another path")
        assert not (parent / "data").exists()
    finally:
        if parent != Path("/sys"):
            parent.chmod(0o755)


def test_port_in_use_is_refused_before_seeding(workdir: Path) -> None:
    """As a subprocess, the way a user meets it: the banner never appears, no data dir is made."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "crossconnect.cli.main", "serve", "--port", str(port)],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    one_line_error(result.stderr, f"port {port} is already in use", "--port")
    assert list(workdir.iterdir()) == []


def test_port_check_leaves_an_existing_data_dir_alone(server: Server, workdir: Path) -> None:
    """A second server on the same port and data dir: refused, and the first one's files untouched."""
    before = {p.name: p.stat().st_mtime_ns for p in server.data_dir.iterdir()}
    result = serve("--port", str(server.port), "--data-dir", str(server.data_dir))
    assert result.exit_code == 2
    one_line_error(result.stderr, "already in use")
    assert {p.name: p.stat().st_mtime_ns for p in server.data_dir.iterdir()} == before
    assert server.token("partner")


def test_long_errors_are_not_wrapped_in_a_narrow_terminal(workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "serve", "--database", "x" * 30],
        cwd=workdir,
        env={**os.environ, "COLUMNS": "40", "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    one_line_error(result.stderr, "is not a database URL", "leave --database out")


@pytest.mark.parametrize("retention", ["0", "-5", "7776001", "a day"])
def test_operation_retention_out_of_range(workdir: Path, retention: str) -> None:
    """1 s to 90 days: a retention of 0 would purge an operation before its first poll."""
    result = serve("--port", str(free_port()), "--operation-retention", retention)
    assert result.exit_code == 2 and result.stdout == ""
    assert "--operation-retention" in result.stderr, result.stderr
    assert list(workdir.iterdir()) == []
