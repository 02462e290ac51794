"""Start-up stays lazy (issue 19: start to healthy): what only some requests need is imported by
the first of them, not by ``crossconnect serve``. Each check runs in a fresh interpreter, since
this one has imported everything long ago."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Loaded by the first request that needs them (Alembic: by a migration that is due; rich: by a
# command line error, the banner is plain, app.terminal).
NOT_AT_START = (
    "alembic",
    "jwt",
    "jsonschema",
    "pypdf",
    "httpx",
    "rich",
    # template deployments: the first deployment request or operation (resources/deployments/routes.py)
    "crossconnect.resources.deployments.endpoints",
    "crossconnect.resources.deployments.engine",
    "crossconnect.resources.deployments.template_language",
)

# The command line's modules and what a server builds before it listens: runtime and ASGI app on a
# data dir. Prints the modules loaded and the request-body models whose validator was built.
SERVE_PATH = """
import json, sys
from pathlib import Path
import crossconnect.cli.main, crossconnect.app.server
from crossconnect.app.application import build_app, build_runtime
from crossconnect.app.config import ServerConfig
from crossconnect.arm.bodies import ArmModel

runtime = build_runtime(ServerConfig(data_dir=Path(sys.argv[1])))
build_app(runtime)
runtime.store.dispose()

def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)

built = sorted(m.__qualname__ for m in models(ArmModel) if m.__pydantic_complete__)
print(json.dumps({"modules": sorted(sys.modules), "built_models": built}))
"""


def _serve_path(data_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    env.pop("CROSSCONNECT_DATABASE", None)
    done = subprocess.run(
        [sys.executable, "-c", SERVE_PATH, str(data_dir)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_serve_path_leaves_per_request_libraries_unloaded(tmp_path: Path) -> None:
    _serve_path(tmp_path / "data")  # the first start makes the data dir (and migrates: Alembic)
    loaded = _serve_path(tmp_path / "data")  # a start on an existing data dir, as bench_startup.py times
    modules = set(loaded["modules"])
    early = [name for name in NOT_AT_START if name in modules]
    assert early == [], f"imported at start-up, though only some requests need them: {early}"
    # Request-body models build their validators on first use (ArmModel's defer_build).
    assert loaded["built_models"] == []
