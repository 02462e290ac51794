"""Tag names and values of a subscription (``Tags_List``, ``Tags_CreateOrUpdate``, ``Tags_Delete``,
``Tags_CreateOrUpdateValue``, ``Tags_DeleteValue``): ``az tag list`` and ``az tag create --name``.

A tag name is listed when a resource (or resource group) of the subscription carries it, or when
it was predefined with a PUT; counts are the resources carrying it. Predefined names and values
are kept per subscription in the store's ``meta`` table (``predefined_tags/<subscription>``): a
small JSON document, written in one transaction, so no schema change is needed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import BadRequest, Conflict, NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.paging import page_static
from crossconnect.arm.resource_type import validate_tags
from crossconnect.resources.api_versions import RESOURCES_VERSIONS
from crossconnect.store import Store

VERSIONS = ApiVersions.of(RESOURCES_VERSIONS)
_RESERVED_PREFIXES = ("microsoft", "azure", "windows")

# {lowercase name: {"name": casing, "values": [value, ...]}}
Predefined = dict[str, dict[str, Any]]


def _meta_key(subscription_id: str) -> str:
    return f"predefined_tags/{subscription_id.lower()}"


def _predefined(store: Store, subscription_id: str, conn: Connection | None = None) -> Predefined:
    return dict(store.get_meta(_meta_key(subscription_id), conn) or {})


def _base(request: ArmRequest) -> str:
    return f"/subscriptions/{request.params['subscriptionId']}/tagNames"


def _count(value: int) -> dict[str, Any]:
    return {"type": "Total", "value": value}


def _used_tags(store: Store, subscription_id: str) -> list[dict[str, str]]:
    """The tags of every resource and resource group of the subscription."""
    return [dict(row["body"].get("tags") or {}) for row in store.find_all("resources", subscription_id=subscription_id)]


def _check_name(name: str) -> None:
    # the rules every tag name follows (characters, length), then the prefixes Azure keeps
    validate_tags({name: ""})
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise BadRequest(
            f"The tag name '{name}' has a reserved prefix. Tag names cannot start with 'microsoft', 'azure' or "
            "'windows'.",
            "InvalidTagName",
            target="tagName",
        )


def _check_value(name: str, value: str) -> None:
    validate_tags({name: value})


async def list_tags(request: ArmRequest) -> ArmResponse:
    store = request.services.store
    names: dict[str, dict[str, Any]] = {}  # lowercase name -> {"name", "count", "values": {value: count}}
    for key, entry in sorted(_predefined(store, request.subscription_id).items()):
        names[key] = {"name": entry["name"], "count": 0, "values": dict.fromkeys(entry["values"], 0)}
    for tags in _used_tags(store, request.subscription_id):
        for name, value in tags.items():
            entry = names.setdefault(name.lower(), {"name": name, "count": 0, "values": {}})
            entry["count"] += 1
            entry["values"][value] = entry["values"].get(value, 0) + 1
    base = _base(request)
    items = [
        {
            "id": f"{base}/{entry['name']}",
            "tagName": entry["name"],
            "count": _count(entry["count"]),
            "values": [
                {"id": f"{base}/{entry['name']}/tagValues/{value}", "tagValue": value, "count": _count(n)}
                for value, n in sorted(entry["values"].items())
            ],
        }
        for _, entry in sorted(names.items())
    ]
    return page_static(request, items)


def _in_use(store: Store, subscription_id: str, name: str, value: str | None = None) -> bool:
    for tags in _used_tags(store, subscription_id):
        for k, v in tags.items():
            if k.lower() == name.lower() and (value is None or v == value):
                return True
    return False


async def put_name(request: ArmRequest) -> ArmResponse:
    name = request.params["tagName"]
    _check_name(name)
    store = request.services.store
    with store.tx() as conn:
        predefined = _predefined(store, request.subscription_id, conn)
        existed = name.lower() in predefined or _in_use(store, request.subscription_id, name)
        entry = predefined.setdefault(name.lower(), {"name": name, "values": []})
        store.set_meta(_meta_key(request.subscription_id), predefined, conn)
    body = {"id": f"{_base(request)}/{entry['name']}", "tagName": entry["name"], "count": _count(0), "values": []}
    return ArmResponse(200 if existed else 201, body)


async def delete_name(request: ArmRequest) -> ArmResponse:
    name = request.params["tagName"]
    store = request.services.store
    with store.tx() as conn:
        predefined = _predefined(store, request.subscription_id, conn)
        entry = predefined.get(name.lower())
        if entry is None:
            raise NotFound(f"Predefined tag name '{name}' could not be found.", "PredefinedTagNameNotFound")
        if _in_use(store, request.subscription_id, name):
            raise Conflict(
                f"The tag name '{name}' is in use on resources of the subscription; remove it from them first.",
                "TagNameInUse",
                target="tagName",
            )
        if entry["values"]:
            raise Conflict(
                f"The predefined tag name '{name}' still has predefined values; delete them first.",
                "TagNameHasValues",
                target="tagName",
            )
        del predefined[name.lower()]
        store.set_meta(_meta_key(request.subscription_id), predefined, conn)
    return ArmResponse(200)


async def put_value(request: ArmRequest) -> ArmResponse:
    name, value = request.params["tagName"], request.params["tagValue"]
    _check_name(name)
    _check_value(name, value)
    store = request.services.store
    with store.tx() as conn:
        predefined = _predefined(store, request.subscription_id, conn)
        entry = predefined.setdefault(name.lower(), {"name": name, "values": []})
        existed = value in entry["values"] or _in_use(store, request.subscription_id, name, value)
        if value not in entry["values"]:
            entry["values"] = [*entry["values"], value]
        store.set_meta(_meta_key(request.subscription_id), predefined, conn)
    body = {"id": f"{_base(request)}/{entry['name']}/tagValues/{value}", "tagValue": value, "count": _count(0)}
    return ArmResponse(200 if existed else 201, body)


async def delete_value(request: ArmRequest) -> ArmResponse:
    name, value = request.params["tagName"], request.params["tagValue"]
    store = request.services.store
    with store.tx() as conn:
        predefined = _predefined(store, request.subscription_id, conn)
        entry = predefined.get(name.lower())
        if entry is None:
            raise NotFound(f"Predefined tag name '{name}' could not be found.", "PredefinedTagNameNotFound")
        if value not in entry["values"]:
            raise NotFound(
                f"Predefined tag value '{value}' could not be found for tag name '{name}'.",
                "PredefinedTagValueNotFound",
            )
        entry["values"] = [v for v in entry["values"] if v != value]
        store.set_meta(_meta_key(request.subscription_id), predefined, conn)
    return ArmResponse(200)


def endpoints() -> list[Endpoint]:
    base = "/subscriptions/{subscriptionId}/tagNames"
    action = "Microsoft.Resources/subscriptions/tagNames"
    return [
        Endpoint("GET", base, list_tags, VERSIONS, f"{action}/read"),
        Endpoint("PUT", base + "/{tagName}", put_name, VERSIONS, f"{action}/write"),
        Endpoint("DELETE", base + "/{tagName}", delete_name, VERSIONS, f"{action}/delete"),
        Endpoint("PUT", base + "/{tagName}/tagValues/{tagValue}", put_value, VERSIONS, f"{action}/tagValues/write"),
        Endpoint(
            "DELETE", base + "/{tagName}/tagValues/{tagValue}", delete_value, VERSIONS, f"{action}/tagValues/delete"
        ),
    ]
