"""Running a deployment: the operation engine's completer for ``Microsoft.Resources/deployments``.

A deployment is one long-running operation. Each time the engine runs it (at once, and again
while resources are still provisioning) ``advance`` deploys what is ready: in dependency order,
each resource is PUT through the same endpoint, strategy and RBAC check as the deploying
caller's own PUT would be (``arm.inner_requests``), then its own operation is settled. Progress
is kept in the deployment record, so a restart or another replica resumes where it stopped. A
resource that fails fails the deployment (``DeploymentFailed`` with the resource's error in
``details``); resources already created stay, as in Azure's incremental mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from crossconnect.arm.errors import ArmError, BadRequest
from crossconnect.arm.inner_requests import InnerRequests
from crossconnect.arm.operations import NotReady, iso_time
from crossconnect.arm.services import ArmServices
from crossconnect.identity.tokens import Principal
from crossconnect.resources.deployments.template import Plan, PlannedResource, build_plan
from crossconnect.resources.deployments.template_language import Context, TemplateError, check_size, evaluate_value
from crossconnect.store import Store

POLL_SECONDS = 1.0  # how soon a deployment looks again at resources still provisioning
# Resources started per pass: a pass runs under the operation's lease (30 s), so a large template
# is deployed in several passes, each well within it, and the next pass follows at once.
MAX_STARTED_PER_PASS = 50
_TERMINAL = {"Succeeded", "Failed", "Canceled"}
_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "NoContent", 400: "BadRequest", 403: "Forbidden",
                404: "NotFound", 409: "Conflict", 412: "PreconditionFailed", 429: "TooManyRequests"}  # fmt: skip


def principal_record(principal: Principal) -> dict[str, str]:
    return {"objectId": principal.object_id, "tenantId": principal.tenant_id, "appId": principal.app_id,
            "audience": principal.audience}  # fmt: skip


def principal_of(record: dict[str, str]) -> Principal:
    return Principal(record["objectId"], record["tenantId"], record["appId"], record["audience"], {})


def context_for(row: dict[str, Any], group_location: str, tenant_id: str) -> Context:
    parts = row["id"].split("/")
    return Context(subscription_id=parts[2], tenant_id=tenant_id, group_name=parts[4],
                   group_location=group_location, deployment_name=row["name"])  # fmt: skip


class DeploymentRunner:
    """Completes ``Microsoft.Resources/deployments`` operations."""

    def __init__(self, services: ArmServices, inner: InnerRequests) -> None:
        self.services = services
        self.store: Store = services.store
        self.inner = inner

    # -- the engine's completer interface --------------------------------------------------
    def operation_lock_keys(self, op: dict[str, Any]) -> list[str]:
        return [op["resource_key"]]

    def advance(self, op: dict[str, Any]) -> None:
        row = self.store.find("deployments", key=op["resource_key"])
        if row is None:
            return  # deleted meanwhile: complete_operation then finishes the operation
        body = row["body"]
        if body["properties"]["provisioningState"] == "Accepted":
            body["properties"]["provisioningState"] = "Running"
        plan = self._plan(row)
        steps = {s["id"].lower(): s for s in body["steps"]}
        waiting = False
        started = 0
        failed = any(s["state"] == "Failed" for s in steps.values())
        for resource in plan.resources:
            step = steps.get(resource.id.lower())
            if step is None or step["state"] in _TERMINAL:
                continue  # not deployed (its condition is false), or done
            if step["state"] == "Running":
                self._follow(step)
                waiting |= step["state"] == "Running"
                failed |= step["state"] == "Failed"
                continue
            if failed:
                continue  # nothing new starts once a resource failed
            # a dependency whose condition is false counts as done, as on Azure
            deps = [steps[d.lower()] for d in resource.depends_on if d.lower() in steps]
            if any(d["state"] != "Succeeded" for d in deps):
                waiting |= not any(d["state"] == "Failed" for d in deps)
                continue
            if started >= MAX_STARTED_PER_PASS:
                waiting = True
                break
            started += 1
            self._deploy(row, plan, resource, step)
            self._save(row)
            waiting |= step["state"] == "Running"
            failed |= step["state"] == "Failed"
        if not waiting and not failed:
            try:
                body["properties"]["outputs"] = self._outputs(row, plan)
            except TemplateError as exc:
                body["error"] = {"code": "DeploymentOutputEvaluationFailed",
                                 "message": f"Unable to evaluate template outputs: {exc.message}",
                                 "target": exc.path or None}  # fmt: skip
        self._save(row)
        if waiting:
            raise NotReady(0.0 if started >= MAX_STARTED_PER_PASS else POLL_SECONDS)

    def complete_operation(self, op: dict[str, Any], conn: Connection) -> Any:
        row = self.store.find("deployments", conn, key=op["resource_key"])
        if row is None:
            return None
        body = row["body"]
        failures = [s for s in body["steps"] if s["state"] == "Failed"]
        if failures or body.get("error"):
            raise self._failure(row)
        self._finish(row, "Succeeded", None, conn)
        return None

    def fail_operation(self, op: dict[str, Any], conn: Connection, error: ArmError) -> None:
        row = self.store.find("deployments", conn, key=op["resource_key"])
        if row is not None:
            self._finish(row, "Failed", error.body()["error"], conn)

    # -- deploying ---------------------------------------------------------------------------
    def _plan(self, row: dict[str, Any]) -> Plan:
        body = row["body"]
        given = dict(body.get("givenParameters") or {})
        for name, value in (row.get("secrets") or {}).items():
            given[name] = {"value": value}
        ctx = context_for(row, body["groupLocation"], body["principal"]["tenantId"])
        try:
            return build_plan(body["template"], given, ctx)
        except TemplateError as exc:  # validated when it was accepted: only a changed server gets here
            raise BadRequest(f"Deployment template validation failed: '{exc.message}'.", "InvalidTemplate") from None

    def _reference(self, row: dict[str, Any]) -> Callable[[str, str | None, bool], Any]:
        body = row["body"]
        principal = principal_of(body["principal"])

        def read(target: str, api_version: str | None, full: bool) -> Any:
            version = api_version or self._api_version_of(row, target)
            try:
                response = self.inner.call(self.services, principal, "GET", target, version, body["baseUrl"])
            except ArmError as exc:
                raise TemplateError(
                    f"The resource '{target}' could not be read by reference(): {exc.message}"
                ) from None
            resource = response.body if isinstance(response.body, dict) else {}
            return resource if full else resource.get("properties", {})

        return read

    def _api_version_of(self, row: dict[str, Any], target: str) -> str:
        for step in row["body"]["steps"]:
            if step["id"].lower() == target.lower():
                return str(step["apiVersion"])
        raise TemplateError(f"reference('{target}') needs an api-version: the resource is not in the template.")

    def _deploy(self, row: dict[str, Any], plan: Plan, resource: PlannedResource, step: dict[str, Any]) -> None:
        body = row["body"]
        step["startedAt"] = time.time()
        plan.context.reference = self._reference(row)
        try:
            put = {key: evaluate_value(plan.context, resource.template[key], f"{resource.path}.{key}")
                   for key in ("location", "tags", "sku", "kind", "properties", "zones", "identity", "plan",
                               "managedBy", "extendedLocation") if key in resource.template}  # fmt: skip
            check_size(put, resource.path, plan.context.sizes)
            response = self.inner.call(
                self.services, principal_of(body["principal"]), "PUT", resource.id, resource.api_version,
                body["baseUrl"], put,
            )  # fmt: skip
        except TemplateError as exc:
            self._failed(step, 400, {"code": "InvalidTemplate", "message": exc.message, "target": exc.path or None})
            return
        except ArmError as exc:
            self._failed(step, exc.status, exc.body()["error"])
            return
        step["statusCode"] = _STATUS_TEXT.get(response.status, str(response.status))
        headers = {name.lower(): value for name, value in response.headers.items()}
        status_url = headers.get("azure-asyncoperation") or headers.get("location")
        if status_url is None:
            self._succeeded(step)  # a write that finished within its request (tags)
            return
        # the resource's own long-running operation, followed as a client follows it: by its status
        step["resourceOperation"] = urlsplit(status_url).path.rstrip("/").rsplit("/", 1)[-1]
        step["state"] = "Running"
        self._follow(step)

    def _follow(self, step: dict[str, Any]) -> None:
        """Settle the resource's own operation; take its outcome when it has one. The operation,
        not the stored row, is what is followed: a view (a cross connection's peering) keeps its
        record under another resource."""
        op = self.services.operations.settle(step["resourceOperation"])
        if op is None:
            self._failed(step, 404, {"code": "OperationNotFound", "message": f"The operation of the resource "
                                     f"'{step['id']}' could not be found."})  # fmt: skip
        elif op["status"] == "Succeeded":
            self._succeeded(step)
        elif op["status"] != "InProgress":
            error = op["error"] or {"code": "ResourceDeploymentFailure", "message": "The resource operation completed "
                                    f"with terminal provisioning state '{op['status']}'."}  # fmt: skip
            self._failed(step, int(op["payload"].get("failureStatus", 400)), error)

    def _succeeded(self, step: dict[str, Any]) -> None:
        step["state"] = "Succeeded"
        step["finishedAt"] = time.time()
        step["statusMessage"] = {"status": "OK"}

    def _failed(self, step: dict[str, Any], status: int, error: dict[str, Any]) -> None:
        step["state"] = "Failed"
        step["finishedAt"] = time.time()
        step["statusCode"] = _STATUS_TEXT.get(status, str(status))
        step["statusMessage"] = {"status": "Failed", "error": {k: v for k, v in error.items() if v is not None}}

    def _outputs(self, row: dict[str, Any], plan: Plan) -> dict[str, Any]:
        plan.context.reference = self._reference(row)
        out: dict[str, Any] = {}
        for name, output in plan.outputs.items():
            if "condition" in output and evaluate_value(plan.context, output["condition"], f"outputs.{name}") is False:
                continue
            value = check_size(evaluate_value(plan.context, output["value"], f"outputs.{name}.value"), name,
                               plan.context.sizes)  # fmt: skip
            kind = str(output["type"])
            shown: dict[str, Any] = {"type": kind[0].upper() + kind[1:]}
            if kind.lower() not in ("securestring", "secureobject"):
                shown["value"] = value
            out[name] = shown
        return check_size(out, "outputs", plan.context.sizes)  # all outputs together, as one value

    def _failure(self, row: dict[str, Any]) -> ArmError:
        body = row["body"]
        details = [s["statusMessage"]["error"] for s in body["steps"] if s["state"] == "Failed"]
        if body.get("error"):
            details.append(body["error"])
        return BadRequest(
            "At least one resource deployment operation failed. Please list deployment operations for details. "
            "Please see https://aka.ms/arm-deployment-operations for usage details.",
            "DeploymentFailed",
            details=details,
        )

    def _save(self, row: dict[str, Any]) -> None:
        with self.store.tx() as conn:
            self.store.lock(conn, row["key"])
            current = self.store.find("deployments", conn, key=row["key"])
            if current is None or current["body"]["runId"] != row["body"]["runId"]:
                return  # deleted or replaced meanwhile
            if current["body"]["properties"]["provisioningState"] == "Canceled":
                row["body"]["properties"]["provisioningState"] = "Canceled"
            self.store.update_where("deployments", {"body": row["body"], "updated_at": time.time()}, conn,
                                    key=row["key"])  # fmt: skip

    def _finish(self, row: dict[str, Any], state: str, error: Any, conn: Connection) -> None:
        body = dict(row["body"])
        props = dict(body["properties"])
        if props["provisioningState"] == "Canceled":
            return
        props["provisioningState"] = state
        props["timestamp"] = _now()
        props["outputResources"] = [{"id": s["id"]} for s in body["steps"] if s["state"] == "Succeeded"]
        if error is not None:
            props["error"] = error
        body["properties"] = props
        body["finishedAt"] = time.time()
        # the securestring values were needed while resources were deployed; not a moment longer
        self.store.update_where("deployments", {"body": body, "secrets": None, "updated_at": time.time()}, conn,
                                key=row["key"])  # fmt: skip


def _now() -> str:
    return str(iso_time(time.time()))
