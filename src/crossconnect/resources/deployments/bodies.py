"""What a deployment request may send, the lenient JSON the Azure CLI sends it in, and how a
deployment, its validation result and its operations are shown."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from crossconnect import clock
from crossconnect.arm.errors import BadRequest, invalid_content
from crossconnect.arm.http import decode_body
from crossconnect.arm.operations import iso_time
from crossconnect.resources.deployments.paths import TYPE
from crossconnect.resources.deployments.template_language import TemplateError

_NAME = re.compile(r"^[-\w.()]{1,64}$")
_PROPERTIES = {"template", "templateLink", "parameters", "parametersLink", "mode", "debugSetting",
               "onErrorDeployment", "expressionEvaluationOptions", "validationLevel"}  # fmt: skip


def invalid_template(exc: TemplateError) -> BadRequest:
    """Azure's answer to a template outside the language: 400 InvalidTemplate, naming the place."""
    where = f" (at '{exc.path}')" if exc.path else ""
    return BadRequest(
        f"Deployment template validation failed: '{exc.message}'{where}.",
        "InvalidTemplate",
        target=exc.path or None,
    )


def check_name(name: str) -> None:
    if len(name) > 64:
        raise BadRequest(
            f"The deployment name '{name[:80]}' exceeds the maximum length of 64 characters.",
            "DeploymentNameLengthLimitExceeded",
            target="name",
        )
    if not _NAME.match(name):
        raise BadRequest(
            f"The deployment name '{name}' is invalid. It may contain only alphanumerics, underscores, "
            "parentheses, hyphens and periods.",
            "DeploymentNameInvalidCharacters",
            target="name",
        )


def decode_lenient(raw: bytes) -> Any:
    """The request body. The Azure CLI sends ``az deployment group create --template-file``'s
    template verbatim after an unquoted ``template:`` member name, comments and all (its
    ``JsonCTemplatePolicy``); Azure accepts that. Comments and unquoted member names are turned
    into JSON (outside strings only) before the shared decoder checks everything else."""
    try:
        return decode_body(raw)
    except BadRequest as strict:
        if strict.code != "InvalidRequestFormat":
            raise
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise strict from None
        return decode_body(_jsonc_to_json(text).encode("utf-8"))


_BARE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _jsonc_to_json(text: str) -> str:
    """``//`` and ``/* */`` comments dropped and bare member names quoted, outside strings. One
    pass, linear in the text; what is still not JSON afterwards is refused by the JSON decoder."""
    out: list[str] = []
    i, n = 0, len(text)
    last = ""  # the last significant character written
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
            last = '"'
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif last in ("{", ",") and (match := _BARE.match(text, i)) is not None:
            rest = text[match.end() :].lstrip()
            if rest.startswith(":") and match.group() not in ("true", "false", "null"):
                out.append(json.dumps(match.group()))
            else:
                out.append(match.group())
            i = match.end()
            last = "a"
        else:
            out.append(char)
            if not char.isspace():
                last = char
            i += 1
    return "".join(out)


def parse_request(body: Any, *, what_if: bool = False) -> tuple[dict[str, Any], Any, dict[str, str]]:
    """(template, given parameters, tags) of a deployment PUT, validate or what-if body (what-if
    also takes ``whatIfSettings``, e.g. the CLI's ``resultFormat``)."""
    if not isinstance(body, dict):
        raise invalid_content("Expected an object.", "")
    extra = sorted(set(body) - {"properties", "location", "tags", "id", "name", "type", "identity"})
    if extra:
        raise invalid_content(f"Could not find member '{extra[0]}' on object of type 'Deployment'.", extra[0])
    props = body.get("properties")
    if not isinstance(props, dict):
        raise BadRequest("The request content was invalid: 'properties' is required.", "InvalidRequestContent",
                         target="properties")  # fmt: skip
    extra = sorted(set(props) - _PROPERTIES - ({"whatIfSettings"} if what_if else set()))
    if extra:
        raise invalid_content(
            f"Could not find member '{extra[0]}' on object of type 'DeploymentProperties'.", f"properties.{extra[0]}"
        )
    mode = props.get("mode")
    if not isinstance(mode, str) or mode.lower() not in ("incremental", "complete"):
        raise BadRequest(
            f"The deployment mode '{mode}' is not valid. The supported value is 'Incremental'.",
            "InvalidDeploymentMode",
            target="properties.mode",
        )
    if mode.lower() == "complete":
        raise BadRequest(
            "The deployment mode 'Complete' (deleting resources the template does not name) is not supported by this "
            "server; use 'Incremental'.",
            "InvalidDeploymentMode",
            target="properties.mode",
        )
    for link in ("templateLink", "parametersLink"):
        if props.get(link) is not None:
            raise invalid_template(TemplateError(
                f"'{link}' is not supported: this server fetches no templates from elsewhere; send the template in "
                "'properties.template' and the parameters in 'properties.parameters'.", f"properties.{link}"))  # fmt: skip
    if "template" not in props:
        raise invalid_template(TemplateError("The deployment has no template.", "properties.template"))
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()) or len(tags) > 50:
        raise invalid_content("The deployment tags must be an object of at most 50 string values.", "tags")
    return props["template"], props.get("parameters"), tags


def template_hash(template: Any) -> str:
    """A stable decimal hash of the template (Azure shows one; its algorithm is not published)."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    return str(int.from_bytes(hashlib.sha256(canonical).digest()[:8], "big"))


def duration(start: float, end: float | None) -> str:
    return f"PT{max(0.0, (end or clock.now()) - start):.7f}S"


def deployment_id(subscription_id: str, group: str, name: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/{TYPE}/{name}"


def render(row: dict[str, Any]) -> dict[str, Any]:
    body = row["body"]
    out: dict[str, Any] = {"id": row["id"], "name": row["name"], "type": TYPE}
    if body.get("tags"):
        out["tags"] = body["tags"]
    out["properties"] = dict(body["properties"])
    out["properties"]["duration"] = duration(body["startedAt"], body.get("finishedAt"))
    return out


def render_operation(deployment: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "provisioningOperation": "Create",
        "provisioningState": step["state"],
        "timestamp": iso_time(step.get("finishedAt") or step.get("startedAt") or deployment["body"]["startedAt"]),
        "duration": duration(step.get("startedAt") or deployment["body"]["startedAt"], step.get("finishedAt")),
        "trackingId": step["trackingId"],
        "targetResource": {"id": step["id"], "resourceType": step["type"], "resourceName": step["name"]},
    }
    if step.get("statusCode"):
        props["statusCode"] = step["statusCode"]
    if step.get("statusMessage") is not None:
        props["statusMessage"] = step["statusMessage"]
    return {
        "id": f"{deployment['id']}/operations/{step['operationId']}",
        "operationId": step["operationId"],
        "properties": props,
    }
