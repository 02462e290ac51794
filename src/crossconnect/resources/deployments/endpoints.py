"""``Microsoft.Resources/deployments`` at resource-group scope: create (an LRO), validate, get,
list, delete (the record, never the resources), cancel, export the template, and the
deployment's operations (one per resource)."""

from __future__ import annotations

from typing import Any

from crossconnect import clock, entropy
from crossconnect.arm.errors import ArmError, BadRequest, Conflict, NotFound, UnsupportedMediaType
from crossconnect.arm.http import ArmRequest, ArmResponse
from crossconnect.arm.inner_requests import InnerRequests
from crossconnect.arm.operation_status import status as operation_status
from crossconnect.arm.operations import iso_time, retry_after
from crossconnect.arm.paging import page
from crossconnect.resources.deployments import bodies
from crossconnect.resources.deployments.bodies import invalid_template
from crossconnect.resources.deployments.engine import context_for, principal_record
from crossconnect.resources.deployments.paths import TYPE
from crossconnect.resources.deployments.template import SECURE_TYPES, Plan, build_plan
from crossconnect.resources.deployments.template_language import TemplateError

_ACTIVE = {"Accepted", "Running"}


class Deployments:
    def __init__(self, inner: InnerRequests) -> None:
        self.inner = inner

    # -- helpers -----------------------------------------------------------------------------
    def _group(self, request: ArmRequest) -> dict[str, Any]:
        group = request.params["resourceGroupName"]
        row = request.services.store.get_resource(f"/subscriptions/{request.subscription_id}/resourcegroups/{group}")
        if row is None:
            raise NotFound(f"Resource group '{group}' could not be found.", "ResourceGroupNotFound")
        return row

    def _key(self, request: ArmRequest) -> str:
        return self._id(request).lower()

    def _id(self, request: ArmRequest) -> str:
        group = self._group_name(request)
        return bodies.deployment_id(request.subscription_id, group, request.params["deploymentName"])

    def _group_name(self, request: ArmRequest) -> str:
        row = request.services.store.get_resource(
            f"/subscriptions/{request.subscription_id}/resourcegroups/{request.params['resourceGroupName']}"
        )
        return str(row["name"]) if row is not None else request.params["resourceGroupName"]

    def _load(self, request: ArmRequest) -> dict[str, Any]:
        self._group(request)
        request.services.operations.settle_resource(self._key(request))
        row = request.services.store.find("deployments", key=self._key(request))
        if row is None:
            raise NotFound(f"Deployment '{request.params['deploymentName']}' could not be found.", "DeploymentNotFound")
        return row

    def _body(self, request: ArmRequest) -> Any:
        if not request.body_bytes.strip():
            raise BadRequest("The request content was invalid and could not be deserialized: 'The request body is "
                             "empty.'", "InvalidRequestContent")  # fmt: skip
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "text/json") and not content_type.endswith("+json"):
            raise UnsupportedMediaType(f"The content media type '{content_type or '(none)'}' is not supported. "
                                       "Only 'application/json' is supported.", "UnsupportedMediaType")  # fmt: skip
        return bodies.decode_lenient(request.body_bytes)

    def _plan(self, request: ArmRequest, group: dict[str, Any], template: Any, given: Any) -> Plan:
        """The whole template checked, and every resource's endpoint found: nothing is created
        unless all of it can be attempted."""
        row = {"id": self._id(request), "name": request.params["deploymentName"]}
        ctx = context_for(row, str(group["body"].get("location", "")), request.principal.tenant_id)
        try:
            plan = build_plan(template, given, ctx)
            for resource in plan.resources:
                self._preflight(request, resource.id, resource.type, resource.api_version, resource.path)
        except TemplateError as exc:
            raise invalid_template(exc) from None
        except RecursionError:
            raise invalid_template(TemplateError("The template nests too deeply.")) from None
        return plan

    def _preflight(self, request: ArmRequest, rid: str, rtype: str, api_version: str, path: str) -> None:
        found = self.inner.endpoint("PUT", rid)
        if found is None or found[0].template.endswith("{scopePath:path}"):
            raise TemplateError(f"The resource type '{rtype}' is not supported by this server.", f"{path}.type")
        try:
            found[0].api_versions.check(api_version, request.services.settings.strict_api_versions)
        except ArmError as exc:
            raise TemplateError(f"The apiVersion '{api_version}' of '{rtype}' is not supported: {exc.message}",
                                f"{path}.apiVersion") from None  # fmt: skip

    def _validated_properties(self, plan: Plan, template: Any) -> dict[str, Any]:
        return {
            "templateHash": bodies.template_hash(template),
            "parameters": plan.shown_parameters(),
            "mode": "Incremental",
            "provisioningState": "Succeeded",
            "timestamp": iso_time(clock.now()),
            "duration": "PT0S",
            "providers": _providers(plan),
            "dependencies": _dependencies(plan),
            "validatedResources": [{"id": r.id} for r in plan.resources if r.deployed],
        }

    # -- endpoints -----------------------------------------------------------------------------
    async def put(self, request: ArmRequest) -> ArmResponse:
        group = self._group(request)
        name = request.params["deploymentName"]
        bodies.check_name(name)
        template, given, tags = bodies.parse_request(self._body(request))
        plan = self._plan(request, group, template, given)
        secure = {n for n, t in plan.parameter_types.items() if t.lower() in SECURE_TYPES}
        kept = {n: v for n, v in (given or {}).items() if n not in secure}
        secrets = {n: v.get("value") for n, v in (given or {}).items() if n in secure}
        now = clock.now()
        correlation = request.header("x-ms-correlation-request-id") or entropy.guid()
        body = {
            "runId": entropy.guid(),
            "tags": tags,
            "template": template,
            "givenParameters": kept,
            "groupLocation": str(group["body"].get("location", "")),
            "principal": principal_record(request.principal),
            "baseUrl": request.base_url,
            "startedAt": now,
            "properties": {
                "templateHash": bodies.template_hash(template),
                "parameters": plan.shown_parameters(),
                "mode": "Incremental",
                "provisioningState": "Accepted",
                "timestamp": iso_time(now),
                "correlationId": correlation,
                "providers": _providers(plan),
                "dependencies": _dependencies(plan),
                "outputResources": [],
            },
            "steps": [_step(r.id, r.type, r.name, r.api_version) for r in plan.resources if r.deployed],
        }
        key = self._key(request)
        store = request.services.store
        engine = request.services.operations
        engine.settle_resource(key)
        with store.tx() as conn:
            store.lock(conn, key)
            existing = store.find("deployments", conn, key=key)
            if existing is not None and existing["body"]["properties"]["provisioningState"] in _ACTIVE:
                raise Conflict(f"Unable to edit or replace deployment '{name}': previous deployment from "
                               f"'{iso_time(existing['body']['startedAt'])}' is still active (state: "
                               f"{existing['body']['properties']['provisioningState']}). Please see "
                               "https://aka.ms/arm-deploy for usage details.", "DeploymentActive")  # fmt: skip
            values = {"id": self._id(request), "subscription_id": request.subscription_id,
                      "group_key": group["group_key"],
                      "name": name, "body": body, "secrets": secrets or None, "updated_at": now}  # fmt: skip
            if existing is None:
                store.insert("deployments", {"key": key, "created_at": now, **values}, conn)
            else:
                store.update_where("deployments", values, conn, key=key)
            op = engine.start(conn, subscription_id=request.subscription_id, location="global", kind="deploy",
                              resource_key=key, resource_type=TYPE, payload={})  # fmt: skip
        row = store.find("deployments", key=key)
        assert row is not None
        headers = {
            "Azure-AsyncOperation": request.url_for(f"{row['id']}/operationStatuses/{op['id']}"),
            "Retry-After": retry_after(op["due_at"] - clock.now()),
        }
        return ArmResponse(201 if existing is None else 200, bodies.render(row), headers)

    async def validate(self, request: ArmRequest) -> ArmResponse:
        group = self._group(request)
        bodies.check_name(request.params["deploymentName"])
        template, given, _tags = bodies.parse_request(self._body(request))
        try:
            plan = self._plan(request, group, template, given)
        except ArmError as exc:
            return ArmResponse(exc.status, exc.body())
        out = {"id": self._id(request), "name": request.params["deploymentName"], "type": TYPE,
               "properties": self._validated_properties(plan, template)}  # fmt: skip
        return ArmResponse(200, out)

    async def what_if(self, request: ArmRequest) -> ArmResponse:
        """What the deployment would do to each resource: ``Create`` when it does not exist yet,
        otherwise ``Deploy`` (Azure's change type for a resource that is redeployed and whose
        property changes are not predicted); the caller's read access decides what it may see."""
        group = self._group(request)
        bodies.check_name(request.params["deploymentName"])
        template, given, _tags = bodies.parse_request(self._body(request), what_if=True)
        plan = self._plan(request, group, template, given)
        changes = []
        for resource in plan.resources:
            if not resource.deployed:
                continue
            exists = request.services.store.get_resource(resource.id) is not None
            changes.append({"resourceId": resource.id, "changeType": "Deploy" if exists else "Create"})
        return ArmResponse(200, {"status": "Succeeded", "properties": {"changes": changes}})

    async def get(self, request: ArmRequest) -> ArmResponse:
        return ArmResponse(200, bodies.render(self._load(request)))

    async def status(self, request: ArmRequest) -> ArmResponse:
        row = self._load(request)
        op = request.services.store.find("operations", id=request.params["operationId"])
        if op is None or op["resource_key"] != row["key"]:
            raise NotFound(f"The operation '{request.params['operationId']}' could not be found.", "OperationNotFound")
        return await operation_status(request.services.operations, request)

    async def list(self, request: ArmRequest) -> ArmResponse:
        group = self._group(request)
        store = request.services.store
        group_key = str(group["group_key"])

        def rows(after: int, limit: int) -> list[dict[str, Any]]:
            found = store.find_all("deployments", subscription_id=request.subscription_id, group_key=group_key,
                                   after_seq=after, limit=limit)  # fmt: skip
            for row in found:
                if row["body"]["properties"]["provisioningState"] in _ACTIVE:
                    request.services.operations.settle_resource(row["key"])
            return [store.find("deployments", key=r["key"]) or r for r in found]

        return page(request, rows, bodies.render)

    async def delete(self, request: ArmRequest) -> ArmResponse:
        self._group(request)
        key = self._key(request)
        store = request.services.store
        request.services.operations.settle_resource(key)
        with store.tx() as conn:
            store.lock(conn, key)
            row = store.find("deployments", conn, key=key)
            if row is None:
                return ArmResponse(204)
            if row["body"]["properties"]["provisioningState"] in _ACTIVE:
                raise Conflict(f"The deployment '{row['name']}' is still active and cannot be deleted; cancel it "
                               "first.", "DeploymentActive")  # fmt: skip
            store.delete_where("deployments", conn, key=key)
        return ArmResponse(204)

    async def cancel(self, request: ArmRequest) -> ArmResponse:
        row = self._load(request)
        store = request.services.store
        with store.tx() as conn:
            store.lock(conn, row["key"])
            current = store.find("deployments", conn, key=row["key"])
            if current is None or current["body"]["properties"]["provisioningState"] not in _ACTIVE:
                raise Conflict(f"The deployment '{row['name']}' cannot be canceled: it is not running.",
                               "DeploymentCannotBeCancelled")  # fmt: skip
            body = dict(current["body"])
            body["properties"] = {
                **body["properties"],
                "provisioningState": "Canceled",
                "timestamp": iso_time(clock.now()),
            }
            body["finishedAt"] = clock.now()
            store.update_where("deployments", {"body": body, "secrets": None, "updated_at": clock.now()}, conn,
                               key=row["key"])  # fmt: skip
            store.update_where("operations", {"status": "Canceled", "finished_at": clock.now(), "lease_owner": None,
                                              "lease_until": None}, conn, resource_key=row["key"], status="InProgress")  # fmt: skip
        return ArmResponse(204)

    async def export_template(self, request: ArmRequest) -> ArmResponse:
        return ArmResponse(200, {"template": self._load(request)["body"]["template"]})

    async def operations(self, request: ArmRequest) -> ArmResponse:
        row = self._load(request)
        steps = [s for s in row["body"]["steps"] if s["state"] != "NotStarted"]

        def rows(after: int, limit: int) -> list[dict[str, Any]]:
            return [{"seq": i + 1, **s} for i, s in enumerate(steps)][after : after + limit]

        return page(request, rows, lambda step: bodies.render_operation(row, step))

    async def operation(self, request: ArmRequest) -> ArmResponse:
        row = self._load(request)
        for step in row["body"]["steps"]:
            if step["operationId"].lower() == request.params["operationId"].lower():
                return ArmResponse(200, bodies.render_operation(row, step))
        raise NotFound(f"The deployment operation '{request.params['operationId']}' could not be found.",
                       "DeploymentOperationNotFound")  # fmt: skip


def _step(rid: str, rtype: str, name: str, api_version: str) -> dict[str, Any]:
    return {"id": rid, "type": rtype, "name": name, "apiVersion": api_version, "state": "NotStarted",
            "operationId": entropy.hex_id()[:16].upper(), "trackingId": entropy.guid()}  # fmt: skip


def _providers(plan: Plan) -> list[dict[str, Any]]:
    by_namespace: dict[str, dict[str, set[str]]] = {}
    for r in plan.resources:
        namespace, rest = r.type.split("/", 1)
        location = r.template.get("location")
        by_namespace.setdefault(namespace, {}).setdefault(rest, set())
        if isinstance(location, str) and not location.startswith("["):
            by_namespace[namespace][rest].add(location)
    return [
        {
            "namespace": ns,
            "resourceTypes": [{"resourceType": t, "locations": sorted(locs)} for t, locs in types.items()],
        }
        for ns, types in by_namespace.items()
    ]


def _dependencies(plan: Plan) -> list[dict[str, Any]]:
    by_id = plan.by_id()

    def ref(rid: str) -> dict[str, str]:
        r = by_id[rid.lower()]
        return {"id": r.id, "resourceType": r.type, "resourceName": r.name}

    return [{**ref(r.id), "dependsOn": [ref(d) for d in r.depends_on]} for r in plan.resources if r.depends_on]
