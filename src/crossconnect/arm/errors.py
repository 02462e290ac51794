"""ARM errors: one exception type per status family, rendered once into Azure's envelope
``{"error": {"code", "message", "target", "details"}}``."""

from __future__ import annotations

from typing import Any

from crossconnect.untrusted import printable


class ArmError(Exception):
    status = 500
    default_code = "InternalServerError"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        message = printable(message)  # an echoed value must not break the response (operator API, JSONResponse)
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.target = target
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        error["details"] = self.details
        return {"error": error}


class BadRequest(ArmError):
    status = 400
    default_code = "BadRequest"


class Unauthorized(ArmError):
    status = 401
    default_code = "AuthenticationFailed"


class Forbidden(ArmError):
    status = 403
    default_code = "AuthorizationFailed"


class NotFound(ArmError):
    status = 404
    default_code = "NotFound"


class MethodNotAllowed(ArmError):
    status = 405
    default_code = "MethodNotAllowed"


class Conflict(ArmError):
    status = 409
    default_code = "Conflict"


class PreconditionFailed(ArmError):
    status = 412
    default_code = "PreconditionFailed"


class PayloadTooLarge(ArmError):
    status = 413
    default_code = "RequestEntityTooLarge"


class UnsupportedMediaType(ArmError):
    status = 415
    default_code = "UnsupportedMediaType"


class TooManyRequests(ArmError):
    status = 429
    default_code = "RetryableError"


def invalid_content(message: str, target: str) -> BadRequest:
    """Azure's wording for a body that does not deserialise into the resource type."""
    return BadRequest(
        f"The request content was invalid and could not be deserialized: '{message}'",
        "InvalidRequestContent",
        target=target,
    )


def stored_value_refused(exc: ValueError) -> BadRequest:
    """A request value the store cannot keep (``store.InvalidValue``: NUL, a lone surrogate, text
    longer than its column), as ARM's InvalidRequestContent. Nothing was written."""
    problem = getattr(exc, "problem", str(exc))
    column = getattr(exc, "column", "")
    return BadRequest(
        f"The request content was invalid and could not be deserialized: 'A value of this request {problem} and "
        "cannot be stored.'",
        "InvalidRequestContent",
        target=column.split(".", 1)[1] if column.startswith(("body.", "value.")) else None,
    )


def resource_not_found(type_name: str, name: str, group: str) -> NotFound:
    return NotFound(
        f"The Resource '{type_name}/{name}' under resource group '{group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        "ResourceNotFound",
    )


def resource_group_not_found(group: str) -> NotFound:
    return NotFound(f"Resource group '{group}' could not be found.", "ResourceGroupNotFound")


def subscription_not_found(subscription_id: str) -> NotFound:
    return NotFound(f"The subscription '{subscription_id}' could not be found.", "SubscriptionNotFound")


def authorization_failed(client: str, object_id: str, action: str, scope: str) -> Forbidden:
    """Azure's RBAC denial (``client`` is the application id of a service principal)."""
    return Forbidden(
        f"The client '{client}' with object id '{object_id}' does not have authorization to perform action "
        f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh "
        "your credentials.",
        "AuthorizationFailed",
    )
