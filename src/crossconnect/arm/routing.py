"""Matching request paths against operation templates (literal segments case-insensitive)."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import unquote

from crossconnect.arm.http import Endpoint


def split(path: str) -> list[str]:
    return [unquote(s) for s in path.strip("/").split("/") if s != ""]


class Router:
    def __init__(self) -> None:
        self._by_length: dict[int, list[tuple[list[str], Endpoint]]] = defaultdict(list)

    def add(self, endpoint: Endpoint) -> None:
        self._by_length[len(split(endpoint.template))].append((split(endpoint.template), endpoint))

    def match(self, method: str, path: str) -> tuple[Endpoint | None, dict[str, str], set[str]]:
        """Best match for ``method``; also the methods any matching template allows (for 405)."""
        segments = split(path)
        best: tuple[int, Endpoint, dict[str, str]] | None = None
        allowed: set[str] = set()
        for template, endpoint in self._by_length.get(len(segments), []):
            params: dict[str, str] = {}
            literals = 0
            for t, s in zip(template, segments, strict=True):
                if t.startswith("{") and t.endswith("}"):
                    params[t[1:-1]] = s
                elif t.lower() == s.lower():
                    literals += 1
                else:
                    break
            else:
                allowed.add(endpoint.method)
                if endpoint.method == method and (best is None or literals > best[0]):
                    best = (literals, endpoint, params)
        if best is None:
            return None, {}, allowed
        return best[1], best[2], allowed
