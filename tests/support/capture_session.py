"""The response-schema check of a whole test run: on by default, one capture directory per run.

``CROSSCONNECT_CAPTURE_RESPONSES`` decides, read once by the test session (on the xdist controller,
before it starts the workers):

- unset or empty: on, into a temporary directory this run creates and removes at its end (kept, and
  named, when the check fails, so that the responses can be read);
- ``off``: off; servers are not even wrapped;
- a directory: on, into that directory, which is kept (to be read or validated again).

The choice reaches every process through the environment: the controller sets the variable to the
directory before the workers start, the workers inherit it, and every server the tests start
inherits it from them (each writes ``responses-<pid>.jsonl``). A worker never decides. When the spec
files (``../shared/spec``) are absent there is nothing to validate against: no directory is made,
and the summary says why the check was skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from crossconnect.app.response_capture import CAPTURE_OFF, CAPTURE_VARIABLE


@dataclass(frozen=True)
class CaptureRun:
    directory: Path | None  # None: no capture in this run
    temporary: bool = False  # made by this run, removed at its end unless the check failed
    skipped: str = ""  # why there is no check, for the summary ("" when asked to be off)


def begin(spec_root: Path, environ: MutableMapping[str, str] = os.environ) -> CaptureRun:
    """Decide from the variable, make the directory, and leave the decision in ``environ`` for
    the processes this one starts."""
    value = environ.get(CAPTURE_VARIABLE, "").strip()
    if value.lower() == CAPTURE_OFF:
        environ[CAPTURE_VARIABLE] = CAPTURE_OFF
        return CaptureRun(None)
    if value:
        directory = Path(value).resolve()  # servers run in the checkout, not in pytest's directory
        directory.mkdir(parents=True, exist_ok=True)
        environ[CAPTURE_VARIABLE] = str(directory)
        return CaptureRun(directory, skipped="" if spec_root.is_dir() else f"{spec_root} is not present")
    if not spec_root.is_dir():
        environ[CAPTURE_VARIABLE] = CAPTURE_OFF  # nothing to check against: do not even capture
        return CaptureRun(None, skipped=f"{spec_root} is not present")
    directory = Path(tempfile.mkdtemp(prefix="crossconnect-responses-"))
    environ[CAPTURE_VARIABLE] = str(directory)
    return CaptureRun(directory, temporary=True)


def finish(run: CaptureRun, failed: bool) -> None:
    """Remove a temporary directory, unless the check failed on what it holds."""
    if run.temporary and run.directory is not None and not failed:
        shutil.rmtree(run.directory, ignore_errors=True)
