"""Operator commands as a user runs them (subprocesses): errors are one line, the server's message
as text with the HTTP status and error code in brackets; approve decides only a pending request."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cli.support import one_line_error
from tests.support import REPO, Server, free_port
from tests.support.platform import WRITER

TEST_LOCATIONS = "Microsoft.Network/AllowExpressRouteTestPeeringLocations"
PORTS = "Microsoft.Network/AllowExpressRoutePorts"


def operator(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "operator", *args, "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def feature_state(server: Server, feature: str) -> str:
    from azure.mgmt.resource.features import FeatureClient

    client = FeatureClient(
        server.credential(WRITER), server.subscription(WRITER), base_url=server.base_url, connection_verify=server.ca
    )
    namespace, name = feature.split("/")
    return str(client.features.get(namespace, name).properties.state)


def test_approve_of_a_feature_never_requested_is_refused(server: Server) -> None:
    before = server.snapshot()
    result = operator(server.data_dir, "approve", server.subscription(WRITER), PORTS)
    assert result.returncode == 1 and result.stdout == ""
    line = one_line_error(result.stderr, PORTS, "is not pending", "NotRegistered", "[409 FeatureNotPending]")
    assert "{" not in line  # the message as text, not the JSON body
    assert feature_state(server, PORTS) == "NotRegistered"
    assert server.snapshot() == before


def test_approve_of_a_registered_feature_is_refused_over_the_api(server: Server) -> None:
    before = server.snapshot()
    assert feature_state(server, TEST_LOCATIONS) == "Registered"  # seeded
    r = server.operator(
        "POST", "/features/approve", {"subscriptionId": server.subscription(WRITER), "feature": TEST_LOCATIONS}
    )
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "FeatureNotPending"
    assert TEST_LOCATIONS in error["message"] and "(it is Registered)" in error["message"]
    assert server.snapshot() == before


def test_operator_errors_are_text_with_the_code_in_brackets(server: Server) -> None:
    unknown = operator(server.data_dir, "approve", server.subscription(WRITER), "Microsoft.Network/Nope")
    assert unknown.returncode == 1
    one_line_error(unknown.stderr, "The feature 'Microsoft.Network/Nope' is unknown", "[404 FeatureNotFound]")

    denied = operator(server.data_dir, "deny", server.subscription(WRITER), PORTS)
    assert denied.returncode == 1
    one_line_error(denied.stderr, "is not pending", "[409 FeatureNotPending]")


def test_operator_sign_in_failure(server: Server, tmp_path: Path) -> None:
    data_dir = tmp_path / "copy"
    data_dir.mkdir()
    shutil.copy(server.data_dir / "server.json", data_dir)
    creds = json.loads((server.data_dir / "credentials.json").read_text())
    creds["operator"]["client_secret"] = "not-the-secret"
    (data_dir / "credentials.json").write_text(json.dumps(creds))
    result = operator(data_dir, "features")
    assert result.returncode == 1
    one_line_error(result.stderr, "operator sign-in failed", "[401 invalid_client]")


def test_operator_without_a_running_server(server: Server, tmp_path: Path) -> None:
    data_dir = tmp_path / "stopped"
    data_dir.mkdir()
    shutil.copy(server.data_dir / "credentials.json", data_dir)
    info = json.loads((server.data_dir / "server.json").read_text())
    info["base_url"] = f"https://127.0.0.1:{free_port()}"
    (data_dir / "server.json").write_text(json.dumps(info))
    result = operator(data_dir, "reset")
    assert result.returncode == 1
    one_line_error(result.stderr, "cannot reach crossconnect", "crossconnect serve")

    missing = operator(tmp_path / "nowhere", "features")
    assert missing.returncode == 2
    one_line_error(missing.stderr, "no credentials", "crossconnect serve --data-dir")


def test_operator_import_and_export_file_problems(server: Server, tmp_path: Path) -> None:
    before = server.snapshot()
    absent = operator(server.data_dir, "import", str(tmp_path / "absent.json"))
    assert absent.returncode == 1
    one_line_error(absent.stderr, "cannot read the snapshot", "absent.json")

    garbage = tmp_path / "garbage.json"
    garbage.write_text("this is not json")
    bad = operator(server.data_dir, "import", str(garbage))
    assert bad.returncode == 1
    one_line_error(bad.stderr, "is not a snapshot", "garbage.json")
    assert server.snapshot() == before

    unwritable = operator(server.data_dir, "export", str(tmp_path / "no" / "such" / "dir.json"))
    assert unwritable.returncode == 1
    one_line_error(unwritable.stderr, "cannot write the snapshot", "No such file or directory")
