"""Server-side paging with keyset continuation tokens.

Items are ordered by a stable, increasing ``seq``; the continuation token is the last seq of
the page (opaque, base64). Walking all pages therefore yields each item once even while
items are added or removed between pages.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest, ArmResponse

TOKEN_PARAM = "$skiptoken"

# fetch(after_seq, limit) -> rows carrying a "seq"
Fetch = Callable[[int, int], list[dict[str, Any]]]


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": seq}).encode()).decode().rstrip("=")


_MAX_SEQ = 2**63 - 1  # what an integer column holds on both backends


def _decode(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        seq = json.loads(base64.urlsafe_b64decode(padded))["s"]
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _MAX_SEQ:
            raise ValueError(seq)
        return seq
    except (ValueError, KeyError, TypeError):
        raise BadRequest(f"The continuation token '{token}' is invalid.", "InvalidContinuationToken") from None


# render_page(rows) -> each row as the list shows it, None to leave it out
RenderPage = Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]


def page(
    request: ArmRequest,
    fetch: Fetch,
    render: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    *,
    render_page: RenderPage | None = None,
) -> ArmResponse:
    """One page of ``fetch``'s rows, rendered row by row (``render``) or as a whole page
    (``render_page``: a type that shows other records with each row loads them for the page in one
    query each, not one look-up per row). A row rendered as None is left out (the page is then
    shorter; the continuation still follows the rows fetched)."""
    size = request.services.settings.page_size
    token = request.query.get(TOKEN_PARAM)
    after = _decode(token) if token else 0
    rows = fetch(after, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if render_page is None:
        assert render is not None, "page() needs render or render_page"
        rendered = [render(row) for row in rows]
    else:
        rendered = render_page(rows)
    body: dict[str, Any] = {"value": [item for item in rendered if item is not None]}
    if more:
        query = {k: v for k, v in request.query.items() if k != TOKEN_PARAM}
        query[TOKEN_PARAM] = _encode(rows[-1]["seq"])
        body["nextLink"] = f"{request.base_url}{request.path}?{urlencode(query)}"
    return ArmResponse(200, body)


def page_static(request: ArmRequest, items: Iterable[dict[str, Any]]) -> ArmResponse:
    """Page a fixed, ordered list (catalog data) by position."""
    numbered: list[dict[str, Any]] = [{"seq": i + 1, "item": item} for i, item in enumerate(items)]
    return page(
        request,
        lambda after, limit: [r for r in numbered if int(r["seq"]) > after][:limit],
        lambda r: r["item"],
    )
