"""Azure AD's error responses: ``{"error", "error_description": "AADSTS<code>: ...", "error_codes"}``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.responses import JSONResponse

from crossconnect.untrusted import printable


class AadError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        description = printable(description)  # an echoed value must not break the response
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "error": self.error,
                "error_description": f"AADSTS{self.code}: {self.description}\r\nTrace ID: {uuid.uuid4()}\r\n"
                f"Correlation ID: {uuid.uuid4()}\r\nTimestamp: {datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}",
                "error_codes": [self.code],
                "timestamp": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}",
                "trace_id": str(uuid.uuid4()),
                "correlation_id": str(uuid.uuid4()),
            },
            status_code=self.status,
        )


def missing(parameter: str) -> AadError:
    return AadError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{parameter}'."
    )
