"""Request bodies: Pydantic models (camelCase at the edge, unknown members rejected), with
validation failures turned into ARM's InvalidRequestContent naming the offending property."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from crossconnect.arm.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


class ArmModel(BaseModel):
    """Base for request bodies: unknown members are an error, values are not coerced.

    ``defer_build``: a model's validator is built on its first use, not when its module is
    imported; start-up would otherwise build every body model of every resource type."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, defer_build=True)


# Members Azure defines that crossconnect does not model are accepted and ignored (``LenientModel``):
# for types whose clients (the Azure CLI) send many of them.
LENIENT = ConfigDict(extra="ignore", strict=True, populate_by_name=True)


class LenientModel(ArmModel):
    """Members Azure defines that crossconnect does not model are accepted and ignored."""

    model_config = LENIENT


class ChildResourceBody(ArmModel):
    """The envelope of a resource with no region of its own (a circuit's peering or authorization)
    as the SDK sends it back: the read-only members are accepted and ignored; a subclass adds
    ``properties``."""

    id: str | None = None
    name: str | None = None
    type: str | None = None
    etag: str | None = None


class TrackedResourceBody(ChildResourceBody):
    """The envelope of a tracked resource (one with a region and tags) as the SDK sends it back: the
    read-only members (id, name, type, etag) are accepted and ignored; a subclass adds
    ``properties``."""

    location: str | None = None
    tags: dict[str, Any] | None = None


class LenientTrackedResourceBody(TrackedResourceBody):
    """A tracked resource's envelope whose unmodelled members are ignored, as ``LenientModel``."""

    model_config = LENIENT


def required_properties(body: Any) -> dict[str, Any]:
    """The ``properties`` object of a request body that must have one (hand-parsed bodies)."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise BadRequest(
            "The request content was invalid and could not be deserialized: 'Required property 'properties' not "
            "found in JSON.'",
            "InvalidRequestContent",
        )
    return props


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse(model: type[M], data: Any, type_label: str) -> M:
    if not isinstance(data, dict):
        raise BadRequest(
            "The request content was invalid and could not be deserialized: "
            f"'Expected a JSON object for type '{type_label}'.'",
            "InvalidRequestContent",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = _path(tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))))
        if first["type"] == "extra_forbidden":
            message = (
                f"Could not find member '{str(first['loc'][-1])}' on object of type '{type_label}'. Path '{path}'."
            )
        elif first["type"] == "missing":
            message = f"Required property '{first['loc'][-1]}' not found in JSON. Path '{path}'."
        else:
            value = first.get("input")
            message = f"Error converting value {value!r} at path '{path}': {first['msg']}."
        raise BadRequest(
            f"The request content was invalid and could not be deserialized: '{message}'",
            "InvalidRequestContent",
            target=path,
        ) from None
