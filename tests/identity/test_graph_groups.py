"""Microsoft Graph groups: security groups, members (users, service principals, groups), nesting,
the membership queries, who may do what, and every refused request changing nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support import Server, groups, rbac, settled_snapshot


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(o["id"] for o in response.json()["value"])


def test_group_lifecycle_filter_and_select(server: Server) -> None:
    with rbac.graph(server) as g:
        created = groups.create(g, "noc engineers", description="NOC")
        assert (created["displayName"], created["mailNickname"], created["description"]) == (
            "noc engineers", "noc-engineers", "NOC",
        )  # fmt: skip
        assert (created["mailEnabled"], created["securityEnabled"], created["groupTypes"]) == (False, True, [])
        gid = created["id"]
        assert g.get(f"/groups/{gid}").json()["displayName"] == "noc engineers"
        picked = g.get(f"/groups/{gid}", params={"$select": "id,displayName"}).json()
        assert {k for k in picked if not k.startswith("@")} == {"id", "displayName"}
        for query in ("displayName eq 'noc engineers'", "startswith(displayName,'noc')",
                      "displayName eq 'NOC ENGINEERS' and mailNickname eq 'noc-engineers'"):  # fmt: skip
            assert _ids(g.get("/groups", params={"$filter": query})) == [gid], query
        assert gid not in _ids(g.get("/groups", params={"$filter": "startswith(displayName,'zzz')"}))
        listed = g.get("/groups", params={"$select": "displayName"}).json()["value"]
        assert {"noc engineers", "ExpressRoute Partner Operations"} <= {x["displayName"] for x in listed}
        assert all(set(x) == {"displayName"} for x in listed)
        assert g.patch(f"/groups/{gid}", json={"displayName": "noc", "description": "renamed"}).status_code == 204
        assert (g.get(f"/groups/{gid}").json()["displayName"], g.get(f"/groups/{gid}").json()["description"]) == (
            "noc", "renamed",
        )  # fmt: skip
        assert g.delete(f"/groups/{gid}").status_code == 204
        gone = g.get(f"/groups/{gid}")
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "Request_ResourceNotFound")


def test_members_nesting_and_membership_queries(server: Server) -> None:
    bot = rbac.create_identity(server, "groups-bot")
    user = server.env["user"]["object_id"]
    with rbac.graph(server) as g:
        parent, child = groups.create(g, "parent")["id"], groups.create(g, "child")["id"]
        for group, member in ((child, bot.object_id), (parent, child), (parent, user)):
            r = g.post(f"/groups/{group}/members/$ref", json=groups.ref(server, member))
            assert r.status_code == 204, r.text
        members = g.get(f"/groups/{parent}/members").json()["value"]
        assert sorted((m["@odata.type"], m["id"]) for m in members) == sorted(
            [("#microsoft.graph.group", child), ("#microsoft.graph.user", user)]
        )
        assert _ids(g.get(f"/groups/{parent}/transitiveMembers")) == sorted([child, user, bot.object_id])
        assert _ids(g.get(f"/servicePrincipals/{bot.object_id}/memberOf")) == [child]
        assert _ids(g.get(f"/servicePrincipals/{bot.object_id}/transitiveMemberOf")) == sorted([parent, child])
        assert _ids(g.get(f"/users/{user}/memberOf")) == [parent]
        other = str(uuid.uuid4())
        checked = g.post(f"/directoryObjects/{bot.object_id}/checkMemberGroups", json={"groupIds": [parent, other]})
        assert (checked.status_code, checked.json()["value"]) == (200, [parent])
        objects = g.post(f"/directoryObjects/{bot.object_id}/getMemberObjects", json={"securityEnabledOnly": True})
        assert sorted(objects.json()["value"]) == sorted([parent, child])
        found = g.post("/directoryObjects/getByIds", json={"ids": [parent, bot.object_id]}).json()["value"]
        assert sorted((o["@odata.type"], o["id"]) for o in found) == sorted(
            [("#microsoft.graph.group", parent), ("#microsoft.graph.servicePrincipal", bot.object_id)]
        )
        # a member leaves: no longer in the nested view either
        assert g.delete(f"/groups/{parent}/members/{child}/$ref").status_code == 204
        assert _ids(g.get(f"/groups/{parent}/transitiveMembers")) == [user]
        assert _ids(g.get(f"/servicePrincipals/{bot.object_id}/transitiveMemberOf")) == [child]
        # deleting a service principal takes it out of its groups
        assert g.delete(f"/servicePrincipals/{bot.object_id}").status_code == 204
        assert _ids(g.get(f"/groups/{child}/members")) == []


def _refused(server: Server, call: Any, status: int, code: str, names: str) -> None:
    before = settled_snapshot(server)
    r = call()
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, r.text
    assert names.lower() in error["message"].lower(), error["message"]
    assert settled_snapshot(server) == before, "state changed although the request was refused"


def test_bad_input_is_refused_and_changes_nothing(server: Server) -> None:
    partner = server.env["partner"]["object_id"]
    with rbac.graph(server) as g:
        top, middle, bottom = (groups.create(g, n)["id"] for n in ("top", "middle", "bottom"))
        for group, member in ((top, middle), (middle, bottom), (bottom, partner)):
            assert g.post(f"/groups/{group}/members/$ref", json=groups.ref(server, member)).status_code == 204
        unknown = str(uuid.uuid4())
        cases: list[tuple[Any, int, str, str]] = [
            (lambda: g.post(f"/groups/{top}/members/$ref", json=groups.ref(server, unknown)), 404,
             "Request_ResourceNotFound", unknown),
            (lambda: g.post(f"/groups/{bottom}/members/$ref", json=groups.ref(server, partner)), 400,
             "Request_BadRequest", "'members'"),
            (lambda: g.post(f"/groups/{top}/members/$ref", json=groups.ref(server, top)), 400, "Request_BadRequest",
             "circular"),
            (lambda: g.post(f"/groups/{bottom}/members/$ref", json=groups.ref(server, top)), 400, "Request_BadRequest",
             "circular"),
            (lambda: g.post(f"/groups/{top}/members/$ref", json={}), 400, "Request_BadRequest", "@odata.id"),
            (lambda: g.post(f"/groups/{top}/members/$ref", json={"@odata.id": "not-a-url"}), 400,
             "Request_BadRequest", "@odata.id"),
            (lambda: g.post(f"/groups/{top}/members/$ref", json={"@odata.id": 42}), 400, "Request_BadRequest",
             "@odata.id"),
            (lambda: g.post(f"/groups/{top}/members/$ref", content=b"{not json",
                            headers={"content-type": "application/json"}), 400, "Request_BadRequest", "JSON"),
            (lambda: g.post(f"/groups/{top}/members/$ref", json=[groups.ref(server, partner)]), 400, "Request_BadRequest",
             "JSON object"),
            (lambda: g.delete(f"/groups/{top}/members/{partner}/$ref"), 404, "Request_ResourceNotFound", partner),
            (lambda: g.post(f"/groups/{unknown}/members/$ref", json=groups.ref(server, partner)), 404,
             "Request_ResourceNotFound", unknown),
            (lambda: g.post("/groups", json={"displayName": "x", "mailEnabled": False, "securityEnabled": True}), 400,
             "Request_BadRequest", "mailNickname"),
            (lambda: g.post("/groups", json={"displayName": "", "mailNickname": "x", "mailEnabled": False,
                                             "securityEnabled": True}), 400, "Request_BadRequest", "displayName"),
            (lambda: g.post("/groups", json={"displayName": "x", "mailNickname": "x", "mailEnabled": True,
                                             "securityEnabled": True}), 400, "Request_BadRequest", "mailEnabled"),
            (lambda: g.post(f"/directoryObjects/{partner}/checkMemberGroups", json={"groupIds": "x"}), 400,
             "Request_BadRequest", "groupIds"),
            (lambda: g.get("/groups", params={"$filter": "mail has 'x'"}), 400, "Request_BadRequest", "filter"),
        ]  # fmt: skip
        for call, status, code, names in cases:
            _refused(server, call, status, code, names)


def test_who_may_manage_groups(server: Server) -> None:
    """Graph's model: without a group permission a principal is refused (403) — except that a
    group's owners manage its members, and anyone may ask which groups it belongs to itself."""
    owner = rbac.create_identity(server, "group-owner")
    stranger = rbac.create_identity(server, "group-stranger")
    with rbac.graph(server) as g:
        owned = groups.create(
            g, "owned", **{"owners@odata.bind": [f"{server.base_url}/v1.0/directoryObjects/{owner.object_id}"]}
        )
        other = groups.create(g, "not owned")
        assert _ids(g.get(f"/groups/{owned['id']}/owners")) == [owner.object_id]

    def client(who: rbac.Identity) -> httpx.Client:
        token = httpx.post(
            f"{server.base_url}/{who.tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": who.client_id, "client_secret": who.client_secret,
                  "scope": "https://graph.microsoft.com/.default"},
            verify=server.tls(),
        ).json()["access_token"]  # fmt: skip
        return httpx.Client(base_url=f"{server.base_url}/v1.0", verify=server.tls(),
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    denied = (403, "Authorization_RequestDenied", "Insufficient privileges")
    with client(owner) as o, client(stranger) as s:
        assert (
            o.post(f"/groups/{owned['id']}/members/$ref", json=groups.ref(server, stranger.object_id)).status_code
            == 204
        )
        for call in (
            lambda: o.post(f"/groups/{other['id']}/members/$ref", json=groups.ref(server, stranger.object_id)),
            lambda: o.post("/groups", json={"displayName": "x", "mailNickname": "x", "mailEnabled": False,
                                            "securityEnabled": True}),
            lambda: s.delete(f"/groups/{owned['id']}/members/{stranger.object_id}/$ref"),
            lambda: s.get("/groups"),
            lambda: s.delete(f"/groups/{owned['id']}"),
            lambda: s.get(f"/servicePrincipals/{owner.object_id}/memberOf"),
        ):  # fmt: skip
            _refused(server, call, *denied)
        # one's own memberships, without any Graph permission
        assert _ids(s.get(f"/servicePrincipals/{stranger.object_id}/memberOf")) == [owned["id"]]
        mine = s.post(f"/directoryObjects/{stranger.object_id}/checkMemberGroups", json={"groupIds": [owned["id"]]})
        assert mine.json()["value"] == [owned["id"]]
        assert o.delete(f"/groups/{owned['id']}/members/{stranger.object_id}/$ref").status_code == 204


def test_seeded_operations_group(server: Server) -> None:
    seeded = server.env["groups"]
    assert [(x["display_name"], x["role"]) for x in seeded] == [
        ("ExpressRoute Partner Operations", "Network Contributor")
    ]
    group = seeded[0]
    assert group["scope"] == f"/subscriptions/{server.subscription('partner')}"
    assert group["members"] == [server.env["partner"]["object_id"]]
    with rbac.graph(server) as g:
        assert g.get(f"/groups/{group['object_id']}").json()["displayName"] == "ExpressRoute Partner Operations"
        assert _ids(g.get(f"/groups/{group['object_id']}/members")) == [server.env["partner"]["object_id"]]


@pytest.mark.parametrize("path", ["/groups/{id}/members", "/groups/{id}/transitiveMembers", "/groups/{id}"])
def test_unknown_group_is_not_found(server: Server, path: str) -> None:
    unknown = str(uuid.uuid4())
    with rbac.graph(server) as g:
        r = g.get(path.format(id=unknown))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "Request_ResourceNotFound")
    assert unknown in r.json()["error"]["message"]


def test_owners_are_added_and_removed_and_manage_members(server: Server) -> None:
    owner, member = rbac.create_identity(server, "later-owner"), rbac.create_identity(server, "some-member")
    with rbac.graph(server) as g:
        group = groups.create(g, "owned later")["id"]
        other = groups.create(g, "other group")["id"]
        unknown = str(uuid.uuid4())
        assert g.post(f"/groups/{group}/owners/$ref", json=groups.ref(server, owner.object_id)).status_code == 204
        assert _ids(g.get(f"/groups/{group}/owners")) == [owner.object_id]
        for call, status, code, names in [
            (lambda: g.post(f"/groups/{group}/owners/$ref", json=groups.ref(server, owner.object_id)), 400,
             "Request_BadRequest", "'owners'"),
            (lambda: g.post(f"/groups/{group}/owners/$ref", json=groups.ref(server, other)), 400,
             "Request_BadRequest", other),
            (lambda: g.post(f"/groups/{group}/owners/$ref", json=groups.ref(server, unknown)), 404,
             "Request_ResourceNotFound", unknown),
            (lambda: g.post(f"/groups/{group}/owners/$ref", json={"@odata.id": ""}), 400, "Request_BadRequest",
             "@odata.id"),
            (lambda: g.delete(f"/groups/{group}/owners/{member.object_id}/$ref"), 404, "Request_ResourceNotFound",
             member.object_id),
        ]:  # fmt: skip
            _refused(server, call, status, code, names)
    token = rbac.credential(server, owner).get_token("https://graph.microsoft.com/.default").token
    with httpx.Client(base_url=f"{server.base_url}/v1.0", verify=server.tls(),
                      headers={"Authorization": f"Bearer {token}"}) as o:  # fmt: skip
        assert o.post(f"/groups/{group}/members/$ref", json=groups.ref(server, member.object_id)).status_code == 204
        with rbac.graph(server) as g:
            assert g.delete(f"/groups/{group}/owners/{owner.object_id}/$ref").status_code == 204
        _refused(
            server,
            lambda: o.delete(f"/groups/{group}/members/{member.object_id}/$ref"),
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges",
        )
