"""The ``crossconnect`` command: serve, env, and the operator's subcommands."""

from __future__ import annotations

import errno
import functools
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crossconnect.app.config import ServerConfig

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="A local ExpressRoute Partner Resource Manager API (Azure AD + ARM over HTTPS).",
    no_args_is_help=True,
    add_completion=False,
)
operator_app = typer.Typer(help="Operator actions (plays Microsoft's ExpressRoute engineering).", no_args_is_help=True)
app.add_typer(operator_app, name="operator")


@functools.cache
def _err() -> Console:
    """stderr through rich, imported when a command prints with it: ``serve`` prints its banner
    without rich (app.terminal), and importing it would cost every start ~50 ms."""
    from rich.console import Console

    return Console(stderr=True)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line (never wrapped, whatever the terminal width) and return the exit to raise."""
    _err().print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="CROSSCONNECT_DATA_DIR", help="State, certificates and credentials.")
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="CROSSCONNECT_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CROSSCONNECT_PORT", help="HTTPS port.")] = 8443,
    data_dir: DataDir = Path(".crossconnect"),
    database: Annotated[
        str | None,
        typer.Option(
            envvar="CROSSCONNECT_DATABASE",
            help="Default: SQLite file in the data dir; postgresql://... for PostgreSQL.",
        ),
    ] = None,
    bare: Annotated[bool, typer.Option(envvar="CROSSCONNECT_BARE", help="Seed only the operator credential.")] = False,
    operation_delay: Annotated[
        float,
        typer.Option(
            envvar="CROSSCONNECT_OPERATION_DELAY", help="Seconds each long-running operation stays InProgress."
        ),
    ] = 0.0,
    operation_retention: Annotated[
        float,
        typer.Option(
            envvar="CROSSCONNECT_OPERATION_RETENTION",
            min=1,
            max=90 * 86400,
            help="Seconds a finished long-running operation's status stays readable before it is purged (1 day).",
        ),
    ] = 86400.0,
    strict_api_versions: Annotated[
        bool,
        typer.Option(
            envvar="CROSSCONNECT_STRICT_API_VERSIONS", help="Refuse api-versions newer than the newest known."
        ),
    ] = False,
    page_size: Annotated[int, typer.Option(envvar="CROSSCONNECT_PAGE_SIZE", help="Items per list page.")] = 100,
    public_url: Annotated[
        str | None,
        typer.Option(
            envvar="CROSSCONNECT_PUBLIC_URL",
            help="The https URL clients reach this server by (behind a proxy); tokens' issuer is "
            "{public-url}/{tenant}/v2.0. Default: https://{host}:{port}.",
        ),
    ] = None,
    token_lifetime: Annotated[
        int,
        typer.Option(envvar="CROSSCONNECT_TOKEN_LIFETIME", min=1, max=86400, help="Seconds an access token is valid."),
    ] = 3600,
    clock_skew: Annotated[
        int,
        typer.Option(
            envvar="CROSSCONNECT_CLOCK_SKEW",
            min=0,
            max=3600,
            help="Seconds a rotated-out signing key stays accepted after the token lifetime (clocks differ).",
        ),
    ] = 300,
    key_encryption_key_file: Annotated[
        Path | None,
        typer.Option(
            envvar="CROSSCONNECT_KEY_ENCRYPTION_KEY_FILE",
            help="Key that encrypts the signing keys in the database (made when missing); replicas on one "
            "database share it. Default: key-encryption.key in the data dir.",
        ),
    ] = None,
    proxy_port: Annotated[
        int | None,
        typer.Option(
            envvar="CROSSCONNECT_PROXY_PORT",
            help="Also run an HTTPS proxy on this port that serves management.azure.com, login.microsoftonline.com, "
            "graph.microsoft.com… from this server (see `crossconnect env --proxy`).",
        ),
    ] = None,
    fabric: Annotated[
        str,
        typer.Option(
            envvar="CROSSCONNECT_FABRIC",
            help="model: the wire is derived from declared state; netns: MSEEs are BIRD speakers in network namespaces (root).",
        ),
    ] = "model",
    fabric_uplink: Annotated[
        str | None,
        typer.Option(envvar="CROSSCONNECT_FABRIC_UPLINK", help="netns: put links on QinQ sub-interfaces of this NIC."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            envvar="CROSSCONNECT_SEED",
            min=0,
            help="Tests only: every generated value (service keys, GUIDs, etags, request ids, the seeded "
            "credentials of a fresh data dir) repeats from run to run. Predictable: never on a shared network.",
        ),
    ] = None,
    clock_start: Annotated[
        str | None,
        typer.Option(
            envvar="CROSSCONNECT_CLOCK_START",
            help="Start the server's clock frozen at this ISO 8601 instant (and again after every reset); "
            "move it with `crossconnect clock advance`.",
        ),
    ] = None,
) -> None:
    """Start the HTTPS server (Azure AD + Resource Manager) with the seeded test setup."""
    from sqlalchemy.exc import DBAPIError

    from crossconnect.app.config import ConfigError
    from crossconnect.app.config import clock_start as parse_clock_start
    from crossconnect.app.config import public_url as check_public_url
    from crossconnect.app.preflight import StartupError, describe_database_error, prepare
    from crossconnect.app.server import STARTUP_REFUSALS
    from crossconnect.app.server import serve as run

    try:
        config = ServerConfig(
            host=host,
            port=port,
            data_dir=data_dir,
            database=database,
            bare=bare,
            operation_delay=operation_delay,
            operation_retention=operation_retention,
            strict_api_versions=strict_api_versions,
            page_size=page_size,
            public_url=check_public_url(public_url) if public_url is not None else None,
            token_lifetime=token_lifetime,
            clock_skew=clock_skew,
            key_encryption_key_file=key_encryption_key_file,
            proxy_port=proxy_port,
            fabric=fabric,
            fabric_uplink=fabric_uplink,
            seed=seed,
            clock_start=parse_clock_start(clock_start) if clock_start is not None else None,
        )
        listener = prepare(config)  # before anything is created or printed
    except (StartupError, ConfigError) as exc:
        raise fail(str(exc)) from None
    try:
        run(config, listener=listener)
    except STARTUP_REFUSALS as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        if proxy_port is None or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        raise fail(
            f"the proxy port {proxy_port} is not available ({exc.strerror}); choose another --proxy-port."
        ) from None
    except DBAPIError as exc:  # the database went away between the check and the migration
        raise fail(describe_database_error(database or f"sqlite:///{data_dir / 'crossconnect.db'}", exc)) from None
    finally:
        listener.close()


def _environment(data_dir: Path) -> dict[str, Any]:
    from crossconnect.app.seed import CREDENTIALS_FILE, environment
    from crossconnect.app.server import SERVER_FILE

    creds_path = data_dir / CREDENTIALS_FILE
    if not creds_path.exists():
        raise fail(f"no credentials in '{data_dir}'. Start the server first: crossconnect serve --data-dir {data_dir}")
    creds = json.loads(creds_path.read_text())
    server_path = data_dir / SERVER_FILE
    server = json.loads(server_path.read_text()) if server_path.exists() else {}
    base = server.get("base_url", "https://127.0.0.1:8443")
    ca = server.get("ca_bundle", str((data_dir / "ca.pem").resolve()))
    return environment(creds, base, ca)


@app.command()
def env(
    data_dir: DataDir = Path(".crossconnect"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (for tools and tests).")] = False,
    proxy: Annotated[
        bool,
        typer.Option("--proxy", help="Print the exports that send unmodified public-cloud code through the proxy."),
    ] = False,
) -> None:
    """Print shell exports and a Python snippet for the seeded credentials."""
    if proxy:
        _proxy_exports(data_dir, as_json)
        return
    e = _environment(data_dir)
    if as_json:
        print(json.dumps(e, indent=2))
        return
    if "partner" not in e:
        print("# bare server: only the operator credential exists")
        op = e["operator"]
        print(f"export AZURE_TENANT_ID={op['tenant_id']}\nexport AZURE_CLIENT_ID={op['client_id']}")
        print(f"export AZURE_CLIENT_SECRET='{op['client_secret']}'")
        print(f"export AZURE_AUTHORITY_HOST={e['authority_host']}\nexport REQUESTS_CA_BUNDLE={e['ca_bundle']}")
        return
    p = e["partner"]
    print('# partner (service provider) credentials: eval "$(crossconnect env)"')
    print(f"export AZURE_TENANT_ID={e['tenant_id']}")
    print(f"export AZURE_CLIENT_ID={p['client_id']}")
    print(f"export AZURE_CLIENT_SECRET='{p['client_secret']}'")
    print(f"export AZURE_AUTHORITY_HOST={e['authority_host']}")
    print(f"export REQUESTS_CA_BUNDLE={e['ca_bundle']}")
    print(f"export CROSSCONNECT_ARM_ENDPOINT={e['arm_endpoint']}")
    print(f"export PROVIDER_SUBSCRIPTION_ID={p['subscription_id']}")
    print(f"export CUSTOMER_SUBSCRIPTION_ID={e['customer']['subscription_id']}")
    print()
    print("# Python:")
    print(
        "# from azure.identity import ClientSecretCredential; from azure.mgmt.network import NetworkManagementClient; import os"
    )
    print("# e = os.environ; ca = e['REQUESTS_CA_BUNDLE']; ep = e['CROSSCONNECT_ARM_ENDPOINT']")
    print("# cred = ClientSecretCredential(e['AZURE_TENANT_ID'], e['AZURE_CLIENT_ID'], e['AZURE_CLIENT_SECRET'],")
    print("#     authority=e['AZURE_AUTHORITY_HOST'], disable_instance_discovery=True, connection_verify=ca)")
    print("# client = NetworkManagementClient(cred, e['PROVIDER_SUBSCRIPTION_ID'], base_url=ep, connection_verify=ca)")
    print("# print([x.name for x in client.express_route_cross_connections.list()])")


@app.command(
    "az",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
)
def az(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Option("--as", help="Seeded principal to sign in as: partner, customer or admin.")
    ] = "partner",
    az_path: Annotated[
        str | None, typer.Option("--az", envvar="CROSSCONNECT_AZ", help="The az executable (default: az on PATH).")
    ] = None,
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """Run the Azure CLI against this server: crossconnect az [--as ROLE] <az arguments…>."""
    from crossconnect.cli import azure_cli

    try:
        executable = azure_cli.find_az(az_path)
        status = azure_cli.run(executable, _environment(data_dir), role, data_dir.resolve(), list(ctx.args))
    except azure_cli.AzureCliFailed as exc:
        _err().print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.status) from None
    raise typer.Exit(status)


def _proxy_exports(data_dir: Path, as_json: bool) -> None:
    from crossconnect.app.server import SERVER_FILE

    server_path = data_dir / SERVER_FILE
    server = json.loads(server_path.read_text()) if server_path.exists() else {}
    if "proxy_url" not in server:
        _err().print(
            f"[red]error:[/red] the server of '{data_dir}' runs without the proxy; start it with "
            f"[bold]crossconnect serve --data-dir {data_dir} --proxy-port 8080[/bold]",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    ca = server["ca_bundle"]
    exports = {
        "HTTPS_PROXY": server["proxy_url"],
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "REQUESTS_CA_BUNDLE": ca,
        "SSL_CERT_FILE": ca,
        "NODE_EXTRA_CA_CERTS": ca,
    }
    if as_json:
        print(json.dumps(exports, indent=2))
        return
    print('# public-cloud code through the crossconnect proxy: eval "$(crossconnect env --proxy)"')
    for name, value in exports.items():
        print(f"export {name}={value}")


def _operator_call(data_dir: Path, method: str, path: str, body: Any = None) -> Any:
    from crossconnect.cli.operator_client import OperatorError, call

    try:
        return call(_environment(data_dir), method, path, body)
    except OperatorError as exc:
        raise fail(str(exc), 1) from None


@operator_app.command("enlist")
def enlist(
    tenant_id: Annotated[str, typer.Option(help="Tenant that owns the new subscription.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. ExpressRoute_API_Provider_Sub.")],
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """Enlist a new subscription for a tenant (the seed's step 1)."""
    print(
        json.dumps(
            _operator_call(data_dir, "POST", "/subscriptions", {"tenantId": tenant_id, "displayName": name}), indent=2
        )
    )


@operator_app.command("features")
def features(
    state: Annotated[str | None, typer.Option(help="Only this state, e.g. Pending.")] = None,
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """List feature registrations (Pending ones wait for approval)."""
    path = "/features" + (f"?state={state}" if state else "")
    print(json.dumps(_operator_call(data_dir, "GET", path), indent=2))


@operator_app.command("approve")
def approve(subscription_id: str, feature: str, data_dir: DataDir = Path(".crossconnect")) -> None:
    """Approve a pending feature registration (FEATURE is '<namespace>/<name>')."""
    print(
        json.dumps(
            _operator_call(
                data_dir, "POST", "/features/approve", {"subscriptionId": subscription_id, "feature": feature}
            ),
            indent=2,
        )
    )


@operator_app.command("deny")
def deny(subscription_id: str, feature: str, data_dir: DataDir = Path(".crossconnect")) -> None:
    """Deny a pending feature registration."""
    print(
        json.dumps(
            _operator_call(data_dir, "POST", "/features/deny", {"subscriptionId": subscription_id, "feature": feature}),
            indent=2,
        )
    )


@operator_app.command("reset")
def reset(data_dir: DataDir = Path(".crossconnect")) -> None:
    """Reset all state to the seeded setup (same credentials)."""
    print(json.dumps(_operator_call(data_dir, "POST", "/reset"), indent=2))


@operator_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="File to write the snapshot to ('-' for stdout).")],
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """Export a snapshot of all state as JSON."""
    data = json.dumps(_operator_call(data_dir, "GET", "/snapshot"))
    if str(out) == "-":
        sys.stdout.write(data + "\n")
    else:
        try:
            out.write_text(data)
        except OSError as exc:
            raise fail(f"cannot write the snapshot to '{out}': {exc.strerror or exc}", 1) from None
        _err().print(f"snapshot written to {out}", soft_wrap=True)


@operator_app.command("import")
def import_(
    src: Annotated[Path, typer.Argument(help="Snapshot file written by 'export'.")],
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """Replace all state with a snapshot."""
    try:
        snapshot = json.loads(src.read_text())
    except OSError as exc:
        raise fail(f"cannot read the snapshot '{src}': {exc.strerror or exc}", 1) from None
    except ValueError as exc:
        raise fail(
            f"'{src}' is not a snapshot written by 'crossconnect operator export' (not JSON: {exc})", 1
        ) from None
    print(json.dumps(_operator_call(data_dir, "PUT", "/snapshot", snapshot), indent=2))


clock_app = typer.Typer(
    help="The server's clock (operation delays, token lifetimes, BGP times…).", no_args_is_help=True
)
app.add_typer(clock_app, name="clock")


def _clock_call(data_dir: Path, body: dict[str, Any] | None) -> None:
    result = _operator_call(data_dir, "POST" if body is not None else "GET", "/clock", body)
    print(
        f"{result['now']}  ({'frozen' if result['frozen'] else 'running'}, {result['offsetSeconds']:+.3f} s from real time)"
    )


@clock_app.command("show")
def clock_show(data_dir: DataDir = Path(".crossconnect")) -> None:
    """Print the server's time."""
    _clock_call(data_dir, None)


@clock_app.command("advance", context_settings={"ignore_unknown_options": True})
def clock_advance(
    seconds: Annotated[str, typer.Argument(help="Seconds to move the clock forward.")],
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """Move the clock forward (frozen or running)."""
    try:
        amount = float(seconds)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount):
        raise fail(f"'{seconds}' is not a number of seconds.")
    # the server checks the rest (negative, too large) and answers in one line
    _clock_call(data_dir, {"advance": int(amount) if amount.is_integer() else amount})


@clock_app.command("freeze")
def clock_freeze(data_dir: DataDir = Path(".crossconnect")) -> None:
    """Stop the clock at its current instant."""
    _clock_call(data_dir, {"freeze": True})


@clock_app.command("real")
def clock_real(data_dir: DataDir = Path(".crossconnect")) -> None:
    """Back to real time."""
    _clock_call(data_dir, {"real": True})


lab_app = typer.Typer(help="The lab's partner edges (with serve --fabric netns).", no_args_is_help=True)
app.add_typer(lab_app, name="lab")


@lab_app.command("shell", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def lab_shell(
    ctx: typer.Context,
    service_key: Annotated[str, typer.Argument(help="The circuit's service key.")],
    link: Annotated[str, typer.Argument(help="primary or secondary.")],
    data_dir: DataDir = Path(".crossconnect"),
) -> None:
    """Open a shell (or run the command after --) in the partner edge's namespace of one link:
    where an external router runs (PUT …/edge/<link> with "router": "external")."""
    import os
    import shutil

    if link.lower() not in ("primary", "secondary"):
        raise fail(f"link '{link}' is invalid: use primary or secondary.")
    view = _operator_call(data_dir, "GET", f"/lab/circuits/{service_key}/edge")
    wire = (view.get("wire") or {}).get(link.lower())
    if wire is None:
        raise fail(
            "this circuit link has no partner edge on the wire: start the server with --fabric netns "
            "and configure a peering first.",
            1,
        )
    command = list(ctx.args) or [os.environ.get("SHELL") or "/bin/sh"]
    ip = shutil.which("ip") or "ip"
    os.execv(ip, [ip, "netns", "exec", wire["namespace"], *command])


if __name__ == "__main__":
    app()
