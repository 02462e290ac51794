"""``crossconnect_clock`` as a partner uses it: pytest in a subprocess with the plugin, a server
started with ``--operation-delay 5``; the poller waits for the clock, not for real time."""

from __future__ import annotations

from pathlib import Path

from tests.testing.test_plugin import run_pytest

PARTNER_TESTS = """
from datetime import UTC, datetime, timedelta

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient


def test_the_poller_waits_for_the_clock(crossconnect_clock, crossconnect_client):
    crossconnect_clock.freeze()
    groups = crossconnect_client(ResourceManagementClient, "customer").resource_groups
    groups.create_or_update("held", {"location": "westus"})
    poller = groups.begin_delete("held")
    assert poller.status() == "InProgress"
    poller.wait(timeout=2)  # real time passes; the frozen clock does not
    assert not poller.done()
    before = crossconnect_clock.now()
    assert crossconnect_clock.advance(5) == before + timedelta(seconds=5)
    assert poller.result(timeout=30) is None
    assert groups.check_existence("held") is False


def test_clients_made_after_an_advance_past_the_token_lifetime_work(crossconnect_clock, crossconnect_client):
    crossconnect_clock.advance(2 * 3600)
    network = crossconnect_client(NetworkManagementClient, "partner")
    assert list(network.express_route_cross_connections.list()) == []


def test_each_test_starts_on_real_time(crossconnect_clock, crossconnect_client):
    assert abs(crossconnect_clock.now() - datetime.now(UTC)) < timedelta(seconds=60)
    # the tokens of the test before were issued two hours ahead: the clients here get new ones
    network = crossconnect_client(NetworkManagementClient, "partner")
    assert list(network.express_route_cross_connections.list()) == []
    assert crossconnect_clock.real() - crossconnect_clock.now() < timedelta(seconds=60)
"""


def test_the_clock_fixture_as_a_partner_uses_it(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\ncrossconnect_serve_args = --operation-delay 5\n")
    (tmp_path / "test_partner_clock.py").write_text(PARTNER_TESTS)
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout, result.stdout


def test_a_clock_error_fails_the_test_with_the_servers_message(tmp_path: Path) -> None:
    (tmp_path / "test_bad_clock.py").write_text(
        "def test_backwards(crossconnect_clock):\n    crossconnect_clock.advance(-1)\n"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "must not be negative" in result.stdout, result.stdout
