"""Matching request paths against operation templates (literal segments case-insensitive).

Paths are decoded exactly once, by the HTTP server (uvicorn's ``scope["path"]``).

A template segment ``{name}`` matches one path segment. One segment per template may be
``{name:path}``: it matches zero or more segments, joined with ``/`` (extension resources such
as role assignments live below any scope: subscription, resource group or resource).
"""

from __future__ import annotations

from collections import defaultdict

from crossconnect.arm.http import Endpoint


def split(path: str) -> list[str]:
    """The segments of a path the server already decoded (the ASGI ``path``). They are not decoded
    again: ``a%252Fx`` arrives as the name ``a%2Fx`` (which no name rule allows), never as ``a/x``."""
    return [s for s in path.strip("/").split("/") if s != ""]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _is_path_param(segment: str) -> bool:
    return _is_param(segment) and segment.endswith(":path}")


# A compiled template segment: (parameter name, None) or (None, lowercased literal).
Compiled = list[tuple[str | None, str | None]]


def _compile(template: list[str]) -> Compiled:
    return [(t[1:-1], None) if _is_param(t) else (None, t.lower()) for t in template]


def _match_fixed(template: Compiled, segments: list[str], lowered: list[str], params: dict[str, str]) -> int | None:
    """Literal segments matched, or None when the (equally long) template does not match.
    Called for every candidate template on every request, so it compares precomputed
    lowercase strings only."""
    literals = 0
    for (name, literal), segment, low in zip(template, segments, lowered, strict=True):
        if name is not None:
            params[name] = segment
        elif literal == low:
            literals += 1
        else:
            return None
    return literals


Match = tuple[Endpoint | None, dict[str, str], set[str]]
_MAX_REMEMBERED = 1_024  # matches kept (clients repeat the same paths; bounded under scans)
_MAX_REMEMBERED_PATH = 1024  # characters: an ARM resource id is rarely longer


class Router:
    def __init__(self) -> None:
        # (method, path) -> match: the templates never change once the server runs
        self._remembered: dict[tuple[str, str], Match] = {}
        self._by_length: dict[int, list[tuple[Compiled, Endpoint]]] = defaultdict(list)
        # templates with a {name:path} segment: (prefix, path parameter name, suffix, endpoint)
        self._variable: list[tuple[Compiled, str, Compiled, Endpoint]] = []

    def add(self, endpoint: Endpoint) -> None:
        self._remembered.clear()
        template = split(endpoint.template)
        variable = [i for i, t in enumerate(template) if _is_path_param(t)]
        if not variable:
            self._by_length[len(template)].append((_compile(template), endpoint))
            return
        if len(variable) > 1:
            raise ValueError(f"at most one {{name:path}} segment per template: {endpoint.template}")
        i = variable[0]
        self._variable.append(
            (_compile(template[:i]), template[i][1:-1].split(":")[0], _compile(template[i + 1 :]), endpoint)
        )

    def match(self, method: str, path: str) -> Match:
        """Best match for ``method``; also the methods any matching template allows (for 405).

        The best match has the most literal segments; on a tie a fixed template wins over one
        with a ``{name:path}`` segment."""
        remembered = self._remembered.get((method, path))
        if remembered is None:
            remembered = self._match(method, path)
            # only matches of ordinary length: misses and very long paths are not worth the memory
            if remembered[0] is not None and len(path) <= _MAX_REMEMBERED_PATH:
                if len(self._remembered) >= _MAX_REMEMBERED:
                    self._remembered.clear()
                self._remembered[(method, path)] = remembered
        endpoint, params, allowed = remembered
        return endpoint, dict(params), allowed  # the caller may change its params

    def _match(self, method: str, path: str) -> Match:
        segments = split(path)
        lowered = [s.lower() for s in segments]
        best: tuple[tuple[int, int], Endpoint, dict[str, str]] | None = None
        allowed: set[str] = set()
        for template, endpoint in self._by_length.get(len(segments), []):
            params: dict[str, str] = {}
            literals = _match_fixed(template, segments, lowered, params)
            if literals is None:
                continue
            allowed.add(endpoint.method)
            rank = (literals, 1)
            if endpoint.method == method and (best is None or rank > best[0]):
                best = (rank, endpoint, params)
        for prefix, name, suffix, endpoint in self._variable:
            if len(segments) < len(prefix) + len(suffix):
                continue
            params = {}
            cut = len(segments) - len(suffix)
            head = _match_fixed(prefix, segments[: len(prefix)], lowered[: len(prefix)], params)
            tail = _match_fixed(suffix, segments[cut:], lowered[cut:], params) if head is not None else None
            if head is None or tail is None:
                continue
            params[name] = "/".join(segments[len(prefix) : len(segments) - len(suffix)])
            allowed.add(endpoint.method)
            rank = (head + tail, 0)
            if endpoint.method == method and (best is None or rank > best[0]):
                best = (rank, endpoint, params)
        if best is None:
            return None, {}, allowed
        return best[1], best[2], allowed
