"""The ARM request/response objects every handler sees."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from crossconnect.identity.tokens import Principal
from crossconnect.limits import MAX_BODY, BodyTooLarge
from crossconnect.untrusted import Rejected, decode_json

if TYPE_CHECKING:
    from crossconnect.arm.services import ArmServices

__all__ = [
    "MAX_BODY",
    "ArmRequest",
    "ArmResponse",
    "Endpoint",
    "check_body_size",
    "decode_body",
    "encode_json",
    "payload_too_large",
]

# one encoder for every ARM response (json.dumps(separators=...) would build one per call); ASCII
# output, and no NaN or Infinity, which are not JSON
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def encode_json(body: Any) -> bytes:
    return _ENCODER.encode(body).encode()


@dataclass
class ArmResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # ``body`` as ``encode_json`` encodes it, when the handler encoded it already (a write checks
    # that what it stored can be shown): sent as it is instead of encoding the body once more.
    # Whoever changes ``body`` afterwards must drop it.
    encoded: bytes | None = None


@dataclass
class ArmRequest:
    headers: dict[str, str]  # by lowercase name
    services: ArmServices
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    api_version: str
    served_version: str
    principal: Principal
    base_url: str
    body_bytes: bytes
    # A body the server built itself, already a JSON value (a request made on a caller's behalf,
    # ``tags_at_scope``): ``json_body`` returns it as it is instead of decoding ``body_bytes``, so
    # it is not encoded, decoded and checked once more. The handler owns it.
    body_value: Any = None

    @property
    def subscription_id(self) -> str:
        return self.params["subscriptionId"].lower()

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_body(self, *, required: bool = True) -> Any:
        """Parse the JSON body. Content type and size are checked here, for every type alike."""
        if self.body_value is not None:
            return self.body_value
        if not self.body_bytes.strip():
            if required:
                raise BadRequest(
                    "The request content was invalid and could not be deserialized: 'The request body is empty.'",
                    "InvalidRequestContent",
                )
            return None
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "text/json") and not content_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"The content media type '{content_type or '(none)'}' is not supported. "
                "Only 'application/json' is supported.",
                "UnsupportedMediaType",
            )
        return decode_body(self.body_bytes)

    def url_for(self, path: str, **query: str) -> str:
        """An absolute URL on this server that carries the api-version of this request."""
        from urllib.parse import urlencode

        q = {"api-version": self.api_version, **query}
        return f"{self.base_url}{path}?{urlencode(q)}"


def decode_body(raw: bytes, *, check_values: bool = True) -> Any:
    """A JSON request body, or ARM's error: InvalidRequestFormat when it is not JSON (syntax,
    encoding, nesting), InvalidRequestContent naming the value that cannot be kept (NUL, a lone
    surrogate, a number that is not finite). The ARM endpoints and the operator API use it."""
    try:
        return decode_json(raw, check_values=check_values)
    except Rejected as exc:
        if exc.malformed:
            raise BadRequest(
                "Cannot parse the request.",
                "InvalidRequestFormat",
                details=[{"code": "InvalidJson", "message": f"The request body is not valid JSON: {exc.reason}."}],
            ) from None
        where = f" Path '{exc.path}'." if exc.path else ""
        raise BadRequest(
            f"The request content was invalid and could not be deserialized: '{exc.reason[0].upper()}"
            f"{exc.reason[1:]}.{where}'",
            "InvalidRequestContent",
            target=exc.path or None,
        ) from None


def payload_too_large(exc: BodyTooLarge) -> PayloadTooLarge:
    """ARM's answer to a body over the limit: 413 ``RequestEntityTooLarge``."""
    return PayloadTooLarge(exc.message, "RequestEntityTooLarge")


def check_body_size(length: int, limit: int = MAX_BODY) -> None:
    if length > limit:
        raise payload_too_large(BodyTooLarge(length, limit))


Handler = Callable[[ArmRequest], Awaitable[ArmResponse]]


@dataclass
class Endpoint:
    """One ARM operation: method + path template, the versions it knows, its RBAC action."""

    method: str
    template: str
    handler: Handler
    api_versions: ApiVersions
    action: str | Callable[[ArmRequest], str]
    namespace: str | None = None  # provider namespace the subscription must have registered
    needs_subscription: bool = True
    # The scope the action is authorized at; default: the request path. Operation status URLs
    # sit at subscription level but are authorized at the resource the operation is about.
    scope: Callable[[ArmRequest], str] | None = None
    # The handler only reads the store (and renders what it read): a replica may serve it on the
    # event loop from what it remembers (``ArmProtocol``). Nothing else it does may block.
    reads_only_store: bool = False

    def action_for(self, request: ArmRequest) -> str:
        return self.action(request) if callable(self.action) else self.action

    def scope_for(self, request: ArmRequest) -> str:
        return self.scope(request) if self.scope is not None else request.path
