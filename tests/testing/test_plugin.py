"""The pytest plugin (crossconnect.testing), run the way a partner runs it: pytest in a
subprocess on a test file of its own, with the plugin loaded from its entry point when
crossconnect is installed from this checkout (else with ``-p``), against real servers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from crossconnect.app.response_capture import CAPTURE_VARIABLE
from tests.support import REPO, Server

PLUGIN = "crossconnect.testing.plugin"


def _entry_point_installed() -> bool:
    """Whether pytest in the child finds the entry point (src/ is first on its path and may hold
    the metadata of an editable install of this checkout)."""
    path = [str(REPO / "src"), *sys.path]
    return any(
        ep.group == "pytest11" and ep.value == PLUGIN
        for d in metadata.distributions(path=path)
        for ep in d.entry_points
    )


def run_pytest(
    folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` in ``folder`` (its own rootdir, none of our conftest), this checkout's
    code first on the path; the result with stdout and stderr."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSCONNECT_", "PYTEST_"))}
    if CAPTURE_VARIABLE in os.environ:  # the partner's servers answer into this run's capture too
        child_env[CAPTURE_VARIABLE] = os.environ[CAPTURE_VARIABLE]
    child_env["PYTHONPATH"] = str(REPO / "src")
    child_env.update(env or {})
    plugin = [] if _entry_point_installed() else ["-p", PLUGIN]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder), *plugin, *args],
        cwd=folder,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- plugin-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "README.md lost its <!-- plugin-example --> block"
    return match.group(1)


def test_the_readme_example_passes_as_a_partner_runs_it(tmp_path: Path) -> None:
    (tmp_path / "test_partner_workflow.py").write_text(readme_example())
    result = run_pytest(tmp_path, "--durations=0", "-vv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    # the session's server is gone: no crossconnect process is left on the data dir
    leftover = subprocess.run(["pgrep", "-f", f"--data-dir {tmp_path}"], capture_output=True, text=True)
    assert leftover.stdout == ""


def test_a_failing_partner_test_fails(tmp_path: Path) -> None:
    """The fixtures answer with real state: a wrong expectation is a failure, not a pass."""
    (tmp_path / "test_wrong.py").write_text(
        "from azure.mgmt.network import NetworkManagementClient\n\n"
        "def test_wrong(crossconnect_client, provisioned_cross_connection):\n"
        "    setup = provisioned_cross_connection(bandwidth=50)\n"
        "    xc = crossconnect_client(NetworkManagementClient, 'partner').express_route_cross_connections.get(\n"
        "        setup.resource_group, setup.service_key)\n"
        "    assert xc.bandwidth_in_mbps == 200\n"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "assert 50 == 200" in result.stdout


def test_snapshots_restore_what_was_saved(tmp_path: Path) -> None:
    (tmp_path / "test_snapshots.py").write_text(
        "import pytest\n"
        "from azure.mgmt.resource.resources import ResourceManagementClient\n\n"
        "def groups(client):\n"
        "    return sorted(g.name for g in client(ResourceManagementClient, 'customer').resource_groups.list())\n\n"
        "def test_save(crossconnect_state, crossconnect_client):\n"
        "    crossconnect_client(ResourceManagementClient, 'customer').resource_groups.create_or_update('kept', {'location': 'westus'})\n"
        "    crossconnect_state.save('one-group')\n\n"
        "def test_reset_forgets(crossconnect_state, crossconnect_client):\n"
        "    assert groups(crossconnect_client) == []\n\n"
        "def test_restore(crossconnect_state, crossconnect_client):\n"
        "    crossconnect_state.restore('one-group')\n"
        "    assert groups(crossconnect_client) == ['kept']\n\n"
        "def test_unknown_snapshot(crossconnect_state):\n"
        "    with pytest.raises(RuntimeError, match=\"no snapshot named 'nope'\"):\n"
        "        crossconnect_state.restore('nope')\n"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_module_scoped_state_keeps_state_within_a_module(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\ncrossconnect_state_scope = module\n")
    (tmp_path / "test_module_scope.py").write_text(
        "from azure.mgmt.resource.resources import ResourceManagementClient\n\n"
        "def test_create(crossconnect_state, crossconnect_client):\n"
        "    crossconnect_client(ResourceManagementClient, 'customer').resource_groups.create_or_update('g', {'location': 'westus'})\n\n"
        "def test_still_there(crossconnect_state, crossconnect_client):\n"
        "    assert crossconnect_client(ResourceManagementClient, 'customer').resource_groups.check_existence('g')\n"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_pytest(tmp_path, "--crossconnect-state-scope", "function")
    assert result.returncode == 1 and "1 failed, 1 passed" in result.stdout, result.stdout


def test_serve_arguments_from_the_ini_file(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\ncrossconnect_serve_args = --bare\n")
    (tmp_path / "test_bare.py").write_text(
        "import pytest\n\n"
        "def test_bare(crossconnect_server, crossconnect_credential):\n"
        "    assert 'operator' in crossconnect_server.env and 'partner' not in crossconnect_server.env\n"
        "    with pytest.raises(KeyError, match=\"no seeded principal 'partner' \\\\(this server has: operator\\\\)\"):\n"
        "        crossconnect_credential('partner')\n"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_plugin_does_nothing_for_tests_that_do_not_ask(tmp_path: Path) -> None:
    """Installed, it loads in every pytest run: without its fixtures, no server, no heavy import."""
    (tmp_path / "test_plain.py").write_text(
        "import sys\n\n"
        "def test_plain(request):\n"
        f"    assert request.config.pluginmanager.has_plugin('{PLUGIN}') or "
        "request.config.pluginmanager.has_plugin('crossconnect')\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith('crossconnect'))\n"
        "    assert loaded == ['crossconnect', 'crossconnect.testing', 'crossconnect.testing.plugin']\n"
        "    assert 'httpx' not in sys.modules and 'azure' not in sys.modules\n"
    )
    result = run_pytest(tmp_path, "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    help_text = run_pytest(tmp_path, "--help").stdout
    options = set(re.findall(r"^\s+(--crossconnect[\w-]*)", help_text, re.MULTILINE))
    assert options == {
        "--crossconnect-url",
        "--crossconnect-data-dir",
        "--crossconnect-env-file",
        "--crossconnect-state-scope",
    }
    assert not re.findall(r"^\s+(--(?!crossconnect)[\w-]+).*crossconnect", help_text, re.MULTILINE)


def test_the_servers_it_starts_answer_into_the_response_capture(tmp_path: Path) -> None:
    """The plugin keeps a developer's CROSSCONNECT_* settings from its servers, but not the response
    capture: this suite validates the plugin's traffic against Azure's schemas like its own."""
    captures = tmp_path / "captures"
    (tmp_path / "test_listed.py").write_text(
        "def test_listed(crossconnect_http):\n"
        "    with crossconnect_http('partner') as http:\n"
        "        assert http.get('/subscriptions', params={'api-version': '2022-12-01'}).status_code == 200\n"
    )
    result = run_pytest(tmp_path, env={CAPTURE_VARIABLE: str(captures)})
    assert result.returncode == 0, result.stdout + result.stderr
    records = [
        json.loads(line) for file in captures.glob("responses-*.jsonl") for line in file.read_text().splitlines()
    ]
    assert {(r["method"], r["path"], r["status"]) for r in records} >= {("GET", "/subscriptions", 200)}


def test_attaching_to_a_running_server(tmp_path: Path, session_server: Server) -> None:
    """``CROSSCONNECT_URL`` + ``CROSSCONNECT_DATA_DIR``: no server of its own, the given one's state."""
    (tmp_path / "test_attached.py").write_text(
        "def test_attached(crossconnect_server, crossconnect_http):\n"
        "    assert crossconnect_server.process is None\n"
        f"    assert crossconnect_server.base_url == '{session_server.base_url}'\n"
        "    with crossconnect_http('partner') as http:\n"
        "        r = http.get('/subscriptions', params={'api-version': '2022-12-01'})\n"
        "    assert r.status_code == 200, r.text\n"
        "    assert [s['subscriptionId'] for s in r.json()['value']] == "
        "[crossconnect_server.env['partner']['subscription_id']]\n"
    )
    env = {"CROSSCONNECT_URL": session_server.base_url, "CROSSCONNECT_DATA_DIR": str(session_server.data_dir)}
    result = run_pytest(tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    saved = tmp_path / "server-env.json"  # a saved `crossconnect env --json` instead of the data dir
    saved.write_text(json.dumps({**session_server.env, "ca_bundle": str(Path(session_server.ca).resolve())}))
    result = run_pytest(tmp_path, "--crossconnect-url", session_server.base_url, "--crossconnect-env-file", str(saved))
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_pytest(tmp_path, env={"CROSSCONNECT_URL": session_server.base_url})
    assert result.returncode == 1
    assert "needs the server's credentials: add --crossconnect-data-dir" in result.stdout


@pytest.mark.slow
def test_each_xdist_worker_gets_its_own_server(tmp_path: Path) -> None:
    (tmp_path / "test_workers.py").write_text(
        "import pytest\n"
        "from azure.mgmt.resource.resources import ResourceManagementClient\n\n"
        "@pytest.mark.parametrize('n', range(4))\n"
        "def test_worker(n, crossconnect_server, crossconnect_state, crossconnect_client, worker_id):\n"
        "    rg = crossconnect_client(ResourceManagementClient, 'customer').resource_groups\n"
        "    assert list(rg.list()) == []\n"
        "    rg.create_or_update(f'g{n}', {'location': 'westus'})\n"
        f"    with open({str(tmp_path / 'servers.txt')!r}, 'a') as f:\n"
        "        f.write(f'{worker_id} {crossconnect_server.base_url}\\n')\n"
    )
    result = run_pytest(tmp_path, "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    seen = dict(line.split() for line in (tmp_path / "servers.txt").read_text().splitlines())
    assert len(seen) == 2 and len(set(seen.values())) == 2, seen
