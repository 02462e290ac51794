"""Azure AD's error responses: ``{"error", "error_description": "AADSTS<code>: ...", "error_codes"}``."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from crossconnect import clock, entropy
from crossconnect.limits import BodyTooLarge
from crossconnect.untrusted import printable


class AadError(Exception):
    def __init__(
        self, status: int, error: str, code: int, description: str, headers: dict[str, str] | None = None
    ) -> None:
        description = printable(description)  # an echoed value must not break the response
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "error": self.error,
                "error_description": f"AADSTS{self.code}: {self.description}\r\nTrace ID: {entropy.guid(entropy.REQUEST_IDS)}\r\n"
                f"Correlation ID: {entropy.guid(entropy.REQUEST_IDS)}\r\nTimestamp: {clock.utcnow():%Y-%m-%d %H:%M:%SZ}",
                "error_codes": [self.code],
                "timestamp": f"{clock.utcnow():%Y-%m-%d %H:%M:%SZ}",
                "trace_id": entropy.guid(entropy.REQUEST_IDS),
                "correlation_id": entropy.guid(entropy.REQUEST_IDS),
            },
            status_code=self.status,
            headers=self.headers,
        )


def too_large(exc: BodyTooLarge) -> AadError:
    """A request body over ``limits.MAX_BODY``: 413 in Azure AD's error body."""
    return AadError(413, "invalid_request", 9002313, f"Invalid request. Request is malformed or invalid: {exc.message}")


async def read_form(request: Request) -> dict[str, str]:
    """The form fields of an Azure AD request (urlencoded or multipart), read within the body limit."""
    try:
        form = await request.form()
    except BodyTooLarge as exc:
        raise too_large(exc) from None
    except HTTPException as exc:  # Starlette's own form limits (a field over 1 MiB, too many parts)
        raise AadError(
            400, "invalid_request", 9002313, f"Invalid request. Request is malformed or invalid: {exc.detail}"
        ) from None
    return {k: str(v) for k, v in form.items()}


def missing(parameter: str) -> AadError:
    return AadError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{parameter}'."
    )
