"""``idsync emulator``: run local stand-ins for systems idsync talks to. ``graph`` serves an emulated Entra tenant
over Microsoft Graph v1.0 on a loopback port, with a freshly generated throwaway app registration."""

from __future__ import annotations

import click


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
    help="Verified domain (repeatable). Default: TENANT.onmicrosoft.com.",
)
@click.option("--seed-users", type=click.IntRange(0, 100_000), default=0, show_default=True, help="Users to create.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for generated ids and injected faults.")
def graph(port: int, host: str, tenant_name: str, domains: tuple[str, ...], seed_users: int, seed: int) -> None:
    """Serve an emulated Microsoft Graph tenant until interrupted."""
    from idsync.testing.graph_emulator import GraphTenant
    from idsync.testing.graph_emulator.server import bind, make_server

    tenant = GraphTenant(tenant_name, domains=domains or None, seed=seed)
    app = tenant.add_app("idsync-emulator")
    if seed_users:
        tenant.seed_users(seed_users)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{actual}"
    click.echo(f"Graph emulator for tenant {tenant.domains[0]} ({tenant.tenant_id})")
    click.echo(f"  graph endpoint:  {base}/v1.0")
    click.echo(f"  token endpoint:  {base}/{tenant.domains[0]}/oauth2/v2.0/token")
    click.echo(f"  verified domains: {', '.join(tenant.domains)}")
    click.echo(f"  users seeded:    {seed_users}")
    click.echo("Throwaway test credentials, generated for this run only:")
    click.echo(f"  client id:       {app.client_id}")
    click.echo(f"  client secret:   {app.client_secret}")
    click.echo("Press Ctrl+C to stop.", err=True)
    server = make_server(tenant, log_level="warning")
    server.run(sockets=[sock])
