"""The platform through the real SDK: sign-in, subscriptions, resource groups, providers, features."""

from __future__ import annotations

from tests.support import Server


def test_sdk_signs_in_and_lists_subscriptions(server: Server) -> None:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    def names(role: str) -> list[str]:
        client = SubscriptionClient(server.credential(role), base_url=server.base_url, connection_verify=server.ca)
        return sorted(s.display_name for s in client.subscriptions.list())

    # each principal sees the subscriptions it holds a role in
    assert names("admin") == ["ExpressRoute_API_Dev_Customer_Sub", "ExpressRoute_API_Dev_Provider_Sub"]
    assert names("partner") == ["ExpressRoute_API_Dev_Provider_Sub"]
    assert names("customer") == ["ExpressRoute_API_Dev_Customer_Sub"]


def test_resource_group_lifecycle(server: Server) -> None:
    rc = server.resources("admin")  # the partner (Network Contributor) may read groups, not write them
    group = rc.resource_groups.create_or_update("Partner-RG", {"location": "eastus", "tags": {"team": "noc"}})
    assert (group.name, group.location, group.tags) == ("Partner-RG", "eastus", {"team": "noc"})
    assert rc.resource_groups.check_existence("partner-rg") is True
    assert rc.resource_groups.get("PARTNER-RG").name == "Partner-RG"  # casing of creation preserved
    rc.resource_groups.begin_delete("partner-rg").result()
    assert rc.resource_groups.check_existence("partner-rg") is False
