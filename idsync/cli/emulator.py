"""``idsync emulator``: run local stand-ins for systems idsync talks to. ``graph`` serves an emulated Entra tenant
over Microsoft Graph v1.0 on a loopback port: a new one with a freshly generated throwaway app registration, or one
kept in a file (the quickstart's data/tenant.json) so what idsync provisioned can be browsed with any Graph client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from idsync.testing.graph_emulator import GraphTenant

TENANT_OPTIONS = {"tenant_name": "--tenant", "domains": "--domain", "seed_users": "--seed-users", "seed": "--seed"}
"""Options that shape a new tenant; a tenant file has its own name, domains and objects."""


@click.group("emulator")
def emulator() -> None:
    """Local emulators for tests and demos."""


@emulator.command("graph")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; loopback unless you mean it.")
@click.option("--tenant", "tenant_name", default="contoso", show_default=True, help="Tenant name.")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    help="Verified domain (repeatable); seeded users get the first. TENANT.onmicrosoft.com, the tenant's initial "
    "domain, is verified too, as in Entra.",
)
@click.option("--seed-users", type=click.IntRange(0, 100_000), default=0, show_default=True, help="Users to create.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for generated ids and injected faults.")
@click.option(
    "--tenant-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serve the tenant kept in this file (such as idsync-demo/data/tenant.json) instead of a new one; "
    "writes made through the API are saved back to it.",
)
@click.option(
    "--save-interval",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="With --tenant-file: seconds between saves of a changed tenant while serving (0: only when stopped).",
)
@click.pass_context
def graph(
    ctx: click.Context,
    port: int,
    host: str,
    tenant_name: str,
    domains: tuple[str, ...],
    seed_users: int,
    seed: int,
    tenant_file: Path | None,
    save_interval: float,
) -> None:
    """Serve an emulated Microsoft Graph tenant until interrupted (Ctrl+C or SIGTERM).

    It prints the Graph endpoint, the token endpoint and a client id and secret: throwaway test credentials
    generated when it starts, valid only while it runs and never written anywhere. Get a token with the
    client-credentials grant and call Graph with it, for example:

    \b
      curl -s -d grant_type=client_credentials -d client_id=CLIENT_ID \\
           --data-urlencode client_secret=CLIENT_SECRET \\
           -d scope=https://graph.microsoft.com/.default TOKEN_ENDPOINT
      curl -s -H "Authorization: Bearer ACCESS_TOKEN" GRAPH_ENDPOINT/users

    Microsoft's SDKs (msgraph-sdk, azure-identity) and Graph Explorer-style tools work the same way when pointed at
    the printed URLs.

    With --tenant-file the tenant comes from a file an idsync workspace keeps (the Graph connector's `emulator:`
    setting, such as the quickstart's data/tenant.json): browse what idsync provisioned. Every app registration in
    the file gets a new secret when it is loaded (the file keeps none). Changes made through the API are written back
    to the file, atomically, at most every --save-interval seconds and when the server stops. While it serves, the
    file is locked (FILE.lock): an idsync run that uses the same file is refused, naming this process, and this
    command refuses a file a run is using. A missing or unreadable file is a usage error (exit 4).
    """
    from idsync.testing.graph_emulator import GraphTenant
    from idsync.testing.graph_emulator.tenant_file import TenantFileBusy, TenantFileLock

    if tenant_file is None:
        if ctx.get_parameter_source("save_interval") is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError("--save-interval applies to a tenant served from a file: add --tenant-file")
        initial = f"{tenant_name}.onmicrosoft.com"
        custom = tuple(d for d in domains if d.lower() != initial.lower())
        tenant = GraphTenant(tenant_name, domains=(*custom, initial) if custom else None, seed=seed)
        app = tenant.add_app("idsync-emulator")
        if seed_users:
            tenant.seed_users(seed_users)
        _serve(tenant, host, port, [f"  users seeded:    {seed_users}"], [(app.client_id, app.client_secret, "")])
        return

    given = [
        flag
        for name, flag in TENANT_OPTIONS.items()
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]
    if given:
        raise click.UsageError(f"--tenant-file serves the tenant as the file has it; drop {', '.join(given)}")
    if not tenant_file.is_file():
        raise click.BadParameter(f"{tenant_file} does not exist (or is not a file)", param_hint="--tenant-file")
    lock = TenantFileLock(tenant_file, "idsync emulator graph")
    try:
        lock.acquire()
    except TenantFileBusy as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{tenant_file}: cannot lock it ({exc.strerror or exc})") from None
    try:
        _serve_file(tenant_file, host, port, save_interval, lambda url: lock.describe(f"{lock.holder} at {url}"))
    finally:
        lock.release()


def _serve_file(
    tenant_file: Path, host: str, port: int, save_interval: float, listening: Callable[[str], None]
) -> None:
    from idsync.testing.graph_emulator import GraphTenant
    from idsync.testing.graph_emulator.tenant_file import AutoSaver

    try:
        tenant = GraphTenant.load(tenant_file)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant-file") from None
    except OSError as exc:
        raise click.BadParameter(f"{tenant_file}: {exc.strerror or exc}", param_hint="--tenant-file") from None
    apps = list(tenant.authority.apps.values()) or [tenant.add_app("idsync-emulator")]
    saver = AutoSaver(tenant, tenant_file, save_interval)
    when = f"at most every {save_interval:g} s after a change, and" if save_interval else "only"
    lines = [
        f"  tenant file:     {tenant_file}",
        f"  objects:         {len(tenant.users())} users, {len(tenant.groups())} groups",
        f"  saved back:      {when} when stopped",
    ]
    credentials = [(a.client_id, a.client_secret, f"app {a.display_name!r}") for a in apps]
    saver.start()
    try:
        _serve(tenant, host, port, lines, credentials, listening)
    finally:
        try:
            wrote = saver.stop()
        except OSError as exc:
            raise click.ClickException(f"cannot write {tenant_file}: {exc.strerror or exc}") from None
    state = "saved" if wrote or saver.saves else "unchanged"
    counts = f"{len(tenant.users())} users, {len(tenant.groups())} groups"
    click.echo(f"Stopped; {tenant_file} {state} ({counts}).", err=True)


def _serve(
    tenant: GraphTenant,
    host: str,
    port: int,
    details: list[str],
    credentials: list[tuple[str, str, str]],
    listening: Callable[[str], None] | None = None,
) -> None:
    from idsync.testing.graph_emulator.server import bind, make_server, run_until_stopped

    try:
        sock = bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{actual}"
    if listening is not None:
        listening(base)
    token_endpoint = f"{base}/{tenant.domains[0]}/oauth2/v2.0/token"
    out: list[Any] = [
        f"Graph emulator for tenant {tenant.domains[0]} ({tenant.tenant_id})",
        f"  graph endpoint:  {base}/v1.0",
        f"  token endpoint:  {token_endpoint}",
        "  token scope:     https://graph.microsoft.com/.default",
        f"  verified domains: {', '.join(tenant.domains)}",
        *details,
        "Throwaway test credentials, generated for this run only:",
    ]
    for client_id, secret, label in credentials:
        out += [f"  client id:       {client_id}{f'  ({label})' if label else ''}", f"  client secret:   {secret}"]
    click.echo("\n".join(out))
    click.echo("Press Ctrl+C to stop.", err=True)
    try:
        run_until_stopped(make_server(tenant, log_level="warning"), sock)
    finally:
        sock.close()
