"""The ARM protocol, written once: api-version, standard headers, request bodies, routing,
resource-id casing, ETags and conditional requests, paging. Every refused request leaves the
store exactly as it was."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import Server
from tests.support.platform import (
    RESOURCES_API,
    SUBSCRIPTIONS_API,
    WRITER,
    ServerFactory,
    arm_error,
    dedicated_servers,
    group_url,
)


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


@contextmanager
def unchanged(server: Server) -> Iterator[None]:
    before = server.snapshot()
    yield
    assert server.snapshot() == before, "a refused request changed the store"


def _create_group(c: httpx.Client, sub: str, name: str, **body: object) -> httpx.Response:
    r = c.put(group_url(sub, name), json={"location": "eastus", **body})
    assert r.status_code in (200, 201), r.text
    return r


# -- api-version --------------------------------------------------------------------------------------
def test_missing_api_version(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, unchanged(server):
        for method, path in [
            ("GET", f"/subscriptions/{sub}/resourcegroups"),
            ("GET", "/subscriptions"),
            ("PUT", f"/subscriptions/{sub}/resourcegroups/NoVersion"),
            ("DELETE", f"/subscriptions/{sub}/resourcegroups/NoVersion"),
            ("GET", f"/subscriptions/{sub}/providers"),
            ("GET", f"/subscriptions/{sub}/resourcegroups?api-version="),
        ]:
            r = c.request(method, path, json={"location": "eastus"} if method == "PUT" else None)
            status, code, message = arm_error(r)
            assert (status, code) == (400, "MissingApiVersionParameter"), (method, path, r.text)
            assert message == "The api-version query parameter (?api-version=) is required for all requests."


@pytest.mark.parametrize("version", ["2016-03-30", "2013-01-01", "abc", "2025-4-1", "latest", "2025-04-01-foo"])
def test_unknown_or_malformed_api_version(server: Server, version: str) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, unchanged(server):
        for method in ("GET", "PUT"):
            r = c.request(
                method,
                group_url(sub, "Versioned", api_version=version),
                json={"location": "eastus"} if method == "PUT" else None,
            )
            status, code, message = arm_error(r)
            assert (status, code) == (400, "InvalidApiVersionParameter"), r.text
            assert f"The api-version '{version}' is invalid." in message
            assert "The supported versions are '" in message
            assert RESOURCES_API in message and "2014-04-01" in message


def test_known_and_newer_api_versions_are_served(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        for version in ("2014-04-01", "2019-10-01", RESOURCES_API, "2099-01-01", "2030-06-01-preview"):
            r = c.put(group_url(sub, f"v{version}", api_version=version), json={"location": "eastus"})
            assert r.status_code == 201, (version, r.text)
            assert r.json()["name"] == f"v{version}"
        r = c.get("/subscriptions?api-version=2099-12-31")
        assert r.status_code == 200, r.text


def test_strict_api_versions_refuses_newer(servers: ServerFactory) -> None:
    strict = servers.start("--strict-api-versions")
    sub = strict.subscription(WRITER)
    with strict.http(WRITER) as c:
        before = strict.snapshot()
        r = c.put(group_url(sub, "Future", api_version="2099-01-01"), json={"location": "eastus"})
        status, code, message = arm_error(r)
        assert (status, code) == (400, "InvalidApiVersionParameter")
        assert "'2099-01-01'" in message and RESOURCES_API in message
        r = c.get("/subscriptions?api-version=2099-01-01")
        assert arm_error(r)[:2] == (400, "InvalidApiVersionParameter")
        assert strict.snapshot() == before
        # known versions still work
        assert c.put(group_url(sub, "Now"), json={"location": "eastus"}).status_code == 201
        assert c.get(f"/subscriptions?api-version={SUBSCRIPTIONS_API}").status_code == 200


# -- standard headers ---------------------------------------------------------------------------------
def _assert_standard_headers(r: httpx.Response, write: bool) -> None:
    request_id = r.headers.get("x-ms-request-id", "")
    assert uuid.UUID(request_id), r.headers
    assert r.headers.get("x-ms-correlation-request-id"), r.headers
    name = "x-ms-ratelimit-remaining-subscription-" + ("writes" if write else "reads")
    assert int(r.headers[name]) > 0, r.headers


def test_standard_headers_on_every_response(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, httpx.Client(base_url=server.base_url, verify=server.tls()) as anonymous:
        responses = [
            (c.get(group_url(sub)), False),  # 200
            (c.put(group_url(sub, "Hdr"), json={"location": "eastus"}), True),  # 201
            (c.head(group_url(sub, "Hdr")), False),  # 204
            (c.head(group_url(sub, "Missing")), False),  # 404
            (c.get(group_url(sub, "Missing")), False),  # 404
            (c.get(group_url(sub).split("?")[0]), False),  # 400
            (c.post(group_url(sub, "Hdr")), True),  # 405
            (c.delete(group_url(sub, "Hdr")), True),  # 202
            (anonymous.get(group_url(sub)), False),  # 401
            (anonymous.put(group_url(sub, "x"), json={}), True),  # 401
            (c.get(f"/subscriptions/{sub}/nothing?api-version=2025-04-01"), False),  # 404
        ]
    ids = set()
    for r, write in responses:
        _assert_standard_headers(r, write)
        ids.add(r.headers["x-ms-request-id"])
    assert len(ids) == len(responses)  # a fresh request id each time


def test_correlation_id_is_echoed(server: Server) -> None:
    correlation = str(uuid.uuid4())
    client_request = str(uuid.uuid4())
    with server.http(WRITER) as c:
        for r in (
            c.get(group_url(server.subscription(WRITER)), headers={"x-ms-correlation-request-id": correlation}),
            c.get(
                group_url(server.subscription(WRITER), "Missing"), headers={"x-ms-correlation-request-id": correlation}
            ),
        ):
            assert r.headers["x-ms-correlation-request-id"] == correlation
            assert r.headers["x-ms-request-id"] != correlation
        r = c.get(group_url(server.subscription(WRITER)), headers={"x-ms-client-request-id": client_request})
        assert r.headers["x-ms-client-request-id"] == client_request
        fresh = c.get(group_url(server.subscription(WRITER)))
        assert fresh.headers["x-ms-correlation-request-id"] not in (correlation, client_request)


# -- request bodies -----------------------------------------------------------------------------------
def test_malformed_json(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        _create_group(c, sub, "Existing")
        with unchanged(server):
            for method, name in (("PUT", "Fresh"), ("PUT", "Existing"), ("PATCH", "Existing")):
                r = c.request(
                    method,
                    group_url(sub, name),
                    content=b'{"location": "eastus",',
                    headers={"Content-Type": "application/json"},
                )
                status, code, message = arm_error(r)
                assert (status, code) == (400, "InvalidRequestFormat"), r.text
                assert message == "Cannot parse the request."


def test_non_json_content_type(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, unchanged(server):
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            r = c.put(
                group_url(sub, "Typed"), content=b'{"location": "eastus"}', headers={"Content-Type": content_type}
            )
            status, code, message = arm_error(r)
            assert (status, code) == (415, "UnsupportedMediaType"), r.text
            assert content_type in message


def test_body_larger_than_4_mib(server: Server) -> None:
    sub = server.subscription(WRITER)
    big = b'{"location": "eastus", "tags": {"a": "' + b"x" * (4 * 1024 * 1024) + b'"}}'
    with server.http(WRITER) as c, unchanged(server):
        r = c.put(group_url(sub, "Huge"), content=big, headers={"Content-Type": "application/json"})
        status, code, _ = arm_error(r)
        assert (status, code) == (413, "RequestEntityTooLarge"), r.text
        # just below the limit is parsed (and refused for its content, not its size)
        small = b'{"location": "eastus", "pad": "' + b"x" * (4 * 1024 * 1024 - 64) + b'"}'
        assert len(small) <= 4 * 1024 * 1024
        r = c.put(group_url(sub, "Huge"), content=small, headers={"Content-Type": "application/json"})
        assert arm_error(r)[:2] == (400, "InvalidRequestContent")


def test_chunked_body_larger_than_4_mib(server: Server) -> None:
    """Without a Content-Length (chunked transfer) the limit stops the body as it streams in."""
    sub = server.subscription(WRITER)

    def chunks() -> Iterator[bytes]:
        yield b'{"location": "eastus", "tags": {"a": "'
        for _ in range(5):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    with server.http(WRITER) as c, unchanged(server):
        r = c.put(group_url(sub, "Chunked"), content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
        assert arm_error(r)[:2] == (413, "RequestEntityTooLarge"), r.text
    with server.http(WRITER) as c:  # a small chunked body is read whole
        body = iter([b'{"location": ', b'"eastus"}'])
        r = c.put(group_url(sub, "Chunked"), content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"location": "eastus", "colour": "blue"}, "colour"),
        ({"location": "eastus", "properties": {}, "sku": {"name": "x"}}, "sku"),
        ({"location": 42}, "location"),
        ({"location": "eastus", "tags": "team=noc"}, "tags"),
        ({"location": "eastus", "tags": {"team": 7}}, "tags.team"),
        ({"location": ["eastus"]}, "location"),
        ({"tags": {}}, "location"),
    ],
)
def test_invalid_request_content_names_the_property(server: Server, body: dict, target: str) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, unchanged(server):
        r = c.put(group_url(sub, "Bodies"), json=body)
        status, code, message = arm_error(r)
        assert (status, code) == (400, "InvalidRequestContent"), r.text
        assert r.json()["error"].get("target") == target, r.text
        assert target.split(".")[-1] in message


def test_invalid_patch_content(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        _create_group(c, sub, "Patchy", tags={"a": "1"})
        with unchanged(server):
            r = c.patch(group_url(sub, "Patchy"), json={"tags": {"a": 1}})
            assert arm_error(r)[:2] == (400, "InvalidRequestContent")
            r = c.patch(group_url(sub, "Patchy"), json={"bogus": True})
            assert arm_error(r)[:2] == (400, "InvalidRequestContent")
            assert r.json()["error"]["target"] == "bogus"
            r = c.put(group_url(sub, "Patchy"), json=["eastus"])
            assert arm_error(r)[:2] == (400, "InvalidRequestContent")
            r = c.put(group_url(sub, "Patchy"), content=b"", headers={"Content-Type": "application/json"})
            assert arm_error(r)[:2] == (400, "InvalidRequestContent")
            r = c.put(group_url(sub, "Patchy"), json={"location": "westus"})  # a group cannot move
            assert arm_error(r)[:2] == (409, "InvalidResourceGroupLocation")


# -- routing ------------------------------------------------------------------------------------------
def test_unknown_path(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, unchanged(server):
        for path in (
            f"/subscriptions/{sub}/nothing/here",
            "/whatever",
            f"/subscriptions/{sub}/resourcegroups/a/b/c",
            f"/subscriptions/{sub}/resourcegroups/rg/providers/Microsoft.Nope/things/x",
        ):
            r = c.get(f"{path}?api-version={RESOURCES_API}")
            status, code, _ = arm_error(r)
            assert status == 404, (path, r.text)
            assert code in ("NotFound", "InvalidResourceType"), (path, r.text)
        r = c.put(f"/subscriptions/{sub}/widgets/w1?api-version={RESOURCES_API}", json={"location": "eastus"})
        assert arm_error(r)[:2] == (404, "NotFound")


def test_unsupported_method(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c, unchanged(server):
        for method, path in (
            ("POST", group_url(sub, "Verb")),
            ("DELETE", group_url(sub)),
            ("PUT", f"/subscriptions?api-version={SUBSCRIPTIONS_API}"),
            ("PATCH", f"/subscriptions/{sub}?api-version={SUBSCRIPTIONS_API}"),
        ):
            r = c.request(method, path, json={})
            status, code, message = arm_error(r)
            assert (status, code) == (405, "MethodNotAllowed"), (method, path, r.text)
            assert f"'{method}'" in message


# -- resource ids -------------------------------------------------------------------------------------
def test_ids_case_insensitive_creation_casing_preserved(server: Server) -> None:
    sub = server.subscription(WRITER)
    rc = server.resources(WRITER)
    created = rc.resource_groups.create_or_update("MixedCase-RG.01", {"location": "East US"})
    assert created.id == f"/subscriptions/{sub}/resourceGroups/MixedCase-RG.01"
    assert created.location == "eastus"
    for spelling in ("mixedcase-rg.01", "MIXEDCASE-RG.01", "mIxEdCaSe-Rg.01"):
        got = rc.resource_groups.get(spelling)
        assert (got.name, got.id) == ("MixedCase-RG.01", created.id)
    # updating through another spelling keeps the creation casing and does not duplicate
    updated = rc.resource_groups.create_or_update("MIXEDCASE-rg.01", {"location": "eastus", "tags": {"k": "v"}})
    assert (updated.name, updated.tags) == ("MixedCase-RG.01", {"k": "v"})
    names = [g.name for g in rc.resource_groups.list()]
    assert names.count("MixedCase-RG.01") == 1
    # literal segments are case-insensitive too, and the subscription id in any case
    with server.http(WRITER) as c:
        r = c.get(f"/SUBSCRIPTIONS/{sub.upper()}/ResourceGroups/MIXEDCASE-RG.01?api-version={RESOURCES_API}")
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "MixedCase-RG.01"
    rc.resource_groups.begin_delete("MIXEDCASE-RG.01").result()
    assert not rc.resource_groups.check_existence("MixedCase-RG.01")


def test_head_answers_204_or_404_without_body(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        _create_group(c, sub, "Headed")
        r = c.head(group_url(sub, "HEADED"))
        assert (r.status_code, r.content) == (204, b"")
        r = c.head(group_url(sub, "Nope"))
        assert (r.status_code, r.content) == (404, b"")


def test_resource_group_not_found(server: Server) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    rc = server.resources(WRITER)
    with pytest.raises(ResourceNotFoundError) as info:
        rc.resource_groups.get("Absent")
    assert info.value.error.code == "ResourceGroupNotFound"
    assert info.value.error.message == "Resource group 'Absent' could not be found."


# -- ETags --------------------------------------------------------------------------------------------
def test_etags_and_conditional_requests(server: Server) -> None:
    sub = server.subscription(WRITER)
    with server.http(WRITER) as c:
        created = _create_group(c, sub, "Tagged")
        etag = created.headers["etag"]
        assert etag.startswith('W/"') and etag.endswith('"'), etag
        got = c.get(group_url(sub, "Tagged"))
        assert got.headers["etag"] == etag
        stale = 'W/"00000000-0000-0000-0000-000000000000"'

        with unchanged(server):
            r = c.put(
                group_url(sub, "Tagged"), json={"location": "eastus", "tags": {"a": "b"}}, headers={"If-Match": stale}
            )
            assert arm_error(r)[:2] == (412, "PreconditionFailed"), r.text
            r = c.patch(group_url(sub, "Tagged"), json={"tags": {"a": "b"}}, headers={"If-Match": stale})
            assert arm_error(r)[:2] == (412, "PreconditionFailed"), r.text
            r = c.delete(group_url(sub, "Tagged"), headers={"If-Match": stale})
            assert arm_error(r)[:2] == (412, "PreconditionFailed"), r.text
            r = c.put(group_url(sub, "Tagged"), json={"location": "eastus"}, headers={"If-None-Match": "*"})
            assert arm_error(r)[:2] == (412, "PreconditionFailed"), r.text
            r = c.put(group_url(sub, "Tagged"), json={"location": "eastus"}, headers={"If-None-Match": etag})
            assert arm_error(r)[:2] == (412, "PreconditionFailed"), r.text
            r = c.put(group_url(sub, "NotThere"), json={"location": "eastus"}, headers={"If-Match": "*"})
            assert arm_error(r)[:2] == (412, "PreconditionFailed"), r.text

        r = c.put(group_url(sub, "Tagged"), json={"location": "eastus", "tags": {"a": "b"}}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        new_etag = r.headers["etag"]
        assert new_etag != etag and new_etag.startswith('W/"')
        assert c.get(group_url(sub, "Tagged")).json()["tags"] == {"a": "b"}
        # the old ETag is now stale
        r = c.patch(group_url(sub, "Tagged"), json={"tags": {}}, headers={"If-Match": etag})
        assert r.status_code == 412
        r = c.patch(group_url(sub, "Tagged"), json={"tags": {"c": "d"}}, headers={"If-Match": new_etag})
        assert r.status_code == 200, r.text
        patched = r.headers["etag"]
        r = c.put(group_url(sub, "Tagged"), json={"location": "eastus"}, headers={"If-Match": "*"})
        assert r.status_code == 200
        r = c.put(group_url(sub, "Fresh"), json={"location": "eastus"}, headers={"If-None-Match": "*"})
        assert r.status_code == 201
        r = c.delete(
            group_url(sub, "Tagged"),
            headers={"If-Match": f"{stale}, {c.get(group_url(sub, 'Tagged')).headers['etag']}"},
        )
        assert r.status_code in (200, 202), r.text
        assert patched


# -- paging -------------------------------------------------------------------------------------------
def _create_groups(server: Server, names: list[str]) -> None:
    sub = server.subscription(WRITER)

    def create(chunk: list[str]) -> None:
        with server.http(WRITER) as c:
            for name in chunk:
                r = c.put(group_url(sub, name), json={"location": "eastus"})
                assert r.status_code == 201, r.text

    chunks = [names[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, chunks))


def test_paging_yields_every_group_once(server: Server) -> None:
    names = [f"page-{i:03d}" for i in range(250)]
    _create_groups(server, names)
    rc = server.resources(WRITER)
    listed = [g.name for g in rc.resource_groups.list()]
    assert sorted(listed) == names  # all 250, each exactly once
    pages = [list(p) for p in rc.resource_groups.list().by_page()]
    assert [len(p) for p in pages] == [100, 100, 50]
    # the nextLink is absolute, on this server, and carries the api-version
    with server.http(WRITER) as c:
        first = c.get(group_url(server.subscription(WRITER))).json()
        link = first["nextLink"]
        assert link.startswith(server.base_url + "/") and f"api-version={RESOURCES_API}" in link
        second = c.get(link).json()
        assert {g["name"] for g in first["value"]}.isdisjoint({g["name"] for g in second["value"]})
        r = c.get(group_url(server.subscription(WRITER)) + "&$skiptoken=not-a-token!")
        assert arm_error(r)[:2] == (400, "InvalidContinuationToken")


def _delete_groups(server: Server, names: set[str]) -> None:
    with server.http(WRITER) as c:
        for name in sorted(names):
            assert c.delete(group_url(server.subscription(WRITER), name)).status_code in (200, 202)
        for name in sorted(names):  # reading settles a due deletion
            assert c.head(group_url(server.subscription(WRITER), name)).status_code == 404


def test_paging_while_groups_change(server: Server) -> None:
    names = [f"walk-{i:03d}" for i in range(250)]
    _create_groups(server, names)
    rc = server.resources(WRITER)
    pages = rc.resource_groups.list().by_page()
    seen = [g.name for g in next(pages)]
    assert len(seen) == 100
    unseen = sorted(set(names) - set(seen))
    removed_seen = set(seen[:10])
    removed_unseen = set(unseen[:20]) | set(unseen[-5:])
    _delete_groups(server, removed_seen | removed_unseen)
    added = {f"added-{i:02d}" for i in range(30)}
    with server.http(WRITER) as c:
        for name in sorted(added):
            assert c.put(group_url(server.subscription(WRITER), name), json={"location": "eastus"}).status_code == 201
    pages_after_first = 1
    for page in pages:
        seen += [g.name for g in page]
        pages_after_first += 1
        if pages_after_first == 2:  # change things again between the second and the third page
            target = sorted(set(names) - set(seen) - removed_unseen)[0]
            removed_unseen.add(target)
            _delete_groups(server, {target})
            with server.http(WRITER) as c:
                assert (
                    c.put(group_url(server.subscription(WRITER), "added-late"), json={"location": "eastus"}).status_code
                    == 201
                )
            added.add("added-late")
    survivors = set(names) - removed_seen - removed_unseen
    assert len(seen) == len(set(seen)), "an item was yielded twice"
    assert survivors <= set(seen), sorted(survivors - set(seen))
    assert not (set(seen) & removed_unseen), "a group deleted before its page was reached was yielded"
    assert set(seen) - set(names) <= added
    assert pages_after_first >= 3
