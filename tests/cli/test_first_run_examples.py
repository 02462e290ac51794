"""A new user's first run, from README.md: the client snippet (extracted from README.md, so it
cannot rot), both examples run twice in a row as a user runs them (subprocesses), and the install
commands that bring in what those scripts import."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support import REPO, Server

README = REPO / "README.md"
EXAMPLES = REPO / "examples"


def readme_block(marker: str, language: str) -> str:
    """The fenced block right after ``<!-- marker -->`` in README.md."""
    text = README.read_text()
    match = re.search(rf"<!-- {marker} -->\n```{language}\n(.*?)\n```", text, re.S)
    assert match, f"README.md has no ```{language} block after <!-- {marker} -->"
    return match.group(1)


def run(args: list[str], server: Server, cwd: Path) -> subprocess.CompletedProcess[str]:
    """As a user runs it: `crossconnect` on PATH, the data dir from the environment."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CROSSCONNECT_DATA_DIR": str(server.data_dir),
    }
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def snippet(server: Server, cwd: Path) -> list[str]:
    return run([sys.executable, "-c", readme_block("client-snippet", "python")], server, cwd).stdout.splitlines()


def workflow(server: Server, cwd: Path) -> list[str]:
    args = [sys.executable, str(EXAMPLES / "partner_workflow.py"), "--data-dir", str(server.data_dir)]
    return run(args, server, cwd).stdout.splitlines()


def lookup(server: Server, cwd: Path, *extra: str) -> list[str]:
    args = [sys.executable, str(EXAMPLES / "route_filter_lookup.py"), "--data-dir", str(server.data_dir), *extra]
    return run(args, server, cwd).stdout.splitlines()


def test_on_a_fresh_seed_the_snippet_and_the_lookup_say_what_to_do(server: Server, tmp_path: Path) -> None:
    # (run outside the repository: nothing depends on the current directory but the data dir)
    lines = snippet(server, tmp_path)
    pairs = [line for line in lines if line.startswith("port pair ")]
    assert len(pairs) == 4, lines  # two pairs at each of the two test locations
    assert any(" at Area51: " in line and "Mbps free" in line for line in pairs), lines
    assert lines[-1] == "no cross connections yet: run examples/partner_workflow.py", lines

    assert lookup(server, tmp_path) == ["no cross connections yet: run examples/partner_workflow.py first"]


def test_partner_workflow_runs_twice_then_the_lookup_has_a_case(server: Server, tmp_path: Path) -> None:
    first = workflow(server, tmp_path)
    key = re.fullmatch(r"customer: created circuit demo-circuit, service key (\S+)", first[0])
    assert key, first
    service_key = key.group(1)
    assert "partner: serviceProviderProvisioningState = Provisioning" in first
    assert "partner: serviceProviderProvisioningState = Provisioned" in first
    promised = [
        "partner: AzurePrivatePeering provisioned, primary 192.168.100.128/30, secondary 192.168.100.132/30",
        "partner: MicrosoftPeering provisioned, primary 131.107.1.0/30, "
        "route filter demo-filter (12076:51004, 12076:5060)",
    ]
    for line in promised:
        assert line in first, first
    for link in ("primary", "secondary"):
        assert any(line.startswith(f"{link}: BGP ") and " AS65010 " in line for line in first), first
    assert first[-1].startswith("next: python examples/route_filter_lookup.py") and service_key in first[-1]

    # the second run picks up where the first left off
    second = workflow(server, tmp_path)
    assert second[0] == f"customer: circuit demo-circuit exists, service key {service_key}", second
    assert "partner: serviceProviderProvisioningState = Provisioned (already)" in second
    assert not any(line.endswith("= Provisioning") for line in second), second
    for line in promised:
        assert line in second, second

    # the case the workflow set up, looked up by service key and across all cross connections
    text = lookup(server, tmp_path, "--service-key", service_key)
    assert any("routeFilters/demo-filter (Succeeded), attached to 1 peering(s)" in line for line in text), text
    assert any("12076:51004" in line and "Azure East US" in line for line in text), text
    assert any("12076:5060" in line and "20.190.128.0/18" in line for line in text), text
    assert lookup(server, tmp_path) == text
    assert lookup(server, tmp_path) == text  # the look-up changes nothing

    lines = snippet(server, tmp_path)
    assert f"cross connection {service_key} at Area51: Provisioned" in lines, lines
    assert not any(line.startswith("no cross connections") for line in lines), lines


# -- what the install commands bring in -----------------------------------------------------------
def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return dict(project["optional-dependencies"])


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalize(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_by(extra: str) -> set[str]:
    """The distributions an extra names, following ``crossconnect[other]`` to other extras."""
    extras = _extras()
    names: set[str] = set()
    for requirement in extras[extra]:
        inner = re.fullmatch(r"crossconnect\[([\w,]+)\]", requirement.replace(" ", ""))
        if inner:
            for other in inner.group(1).split(","):
                names |= _installed_by(other)
        else:
            names |= _requirement_names([requirement])
    return names


def _third_party_imports(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "crossconnect"}


def _owning_distribution(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    origin = Path(spec.origin).resolve()
    for dist in importlib.metadata.distributions():
        name = _normalize(dist.metadata["Name"])
        if not name.startswith("azure"):
            continue
        for file in dist.files or []:
            if file.name == origin.name and Path(str(dist.locate_file(file))).resolve() == origin:
                return name
    raise AssertionError(f"no installed distribution provides {module} ({origin})")


def _with_direct_requirements(names: set[str]) -> set[str]:
    out = set(names)
    for name in names:
        out |= _requirement_names([r for r in importlib.metadata.requires(name) or [] if "extra ==" not in r])
    return out


def test_the_clients_extra_installs_what_the_snippet_and_examples_import() -> None:
    sources = [readme_block("client-snippet", "python"), *(p.read_text() for p in sorted(EXAMPLES.glob("*.py")))]
    imported = set().union(*(_third_party_imports(s) for s in sources))
    assert {"azure.identity", "azure.mgmt.network", "azure.mgmt.resource.resources"} <= imported
    provided = _with_direct_requirements(_installed_by("clients"))
    missing = {m: _owning_distribution(m) for m in imported if _owning_distribution(m) not in provided}
    assert not missing, f"the clients extra does not install: {missing}"


def test_readme_install_commands_bring_in_the_clients() -> None:
    # serve: its next step is the client snippet and the examples
    serve = readme_block("serve-command", "bash")
    extra = re.search(r"pip install -e '\.\[(\w+)\]'", serve)
    assert extra, serve
    assert _installed_by("clients") <= _installed_by(extra.group(1))
    assert serve.rstrip().endswith("crossconnect serve")
    # test: the suite runs the examples too
    assert "pip install -e '.[test]'" in readme_block("test-command", "bash")
    assert _installed_by("clients") <= _installed_by("test")
