"""The ARM protocol reads the ASGI scope itself (arm/protocol.py): its query and header parsing
must give exactly what Starlette's QueryParams/Headers gave before, for any input."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers, QueryParams

from crossconnect.arm.protocol import new_request_id, parse_query, request_headers

_QUERY_CHARS = st.sampled_from(list("aZ09-_.~$=&%+ 'é/:") + ["%20", "%2F", "%zz", "%C3%A9"])
_QUERIES = st.lists(_QUERY_CHARS, max_size=30).map("".join)


@given(_QUERIES)
def test_query_parsing_matches_starlette(query: str) -> None:
    raw = query.encode("utf-8")
    assert parse_query(raw) == dict(QueryParams(raw.decode("latin-1")))


def test_query_examples() -> None:
    assert parse_query(b"api-version=2021-04-01") == {"api-version": "2021-04-01"}
    assert parse_query(b"api-version=1&api-version=2") == {"api-version": "2"}
    assert parse_query(b"$filter=serviceKey%20eq%20'abc'") == {"$filter": "serviceKey eq 'abc'"}
    assert parse_query(b"a+b=c+d&flag&=x") == {"a b": "c d", "flag": "", "": "x"}
    assert parse_query(b"") == {}


_HEADER_NAMES = st.sampled_from([b"host", b"authorization", b"x-ms-client-request-id", b"content-type"])
_HEADER_VALUES = st.binary(max_size=20).filter(lambda v: b"\r" not in v and b"\n" not in v)


@given(st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8))
def test_headers_match_starlette(raw: list[tuple[bytes, bytes]]) -> None:
    parsed = request_headers({"headers": raw})
    starlette = Headers(raw=raw)
    for name in {n.decode() for n, _ in raw}:
        assert parsed[name] == starlette[name]  # of repeated headers the first one counts
    assert set(parsed) == {n.decode() for n, _ in raw}


def test_request_ids_are_distinct_version_4_guids() -> None:
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
