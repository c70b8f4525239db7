"""``idsync migrate``: the migration assistant off the retired FIM Connector for Azure AD."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from idsync.migrate.analysis import analyze
from idsync.migrate.generate import GenerationPath, OutputExists, generate, ruled_out_text, write_workspace
from idsync.migrate.generate import as_json as generate_json
from idsync.migrate.reader import ExportNotFoundError
from idsync.migrate.recommend import Facts
from idsync.migrate.report import build_document, to_html, to_json_document, to_markdown

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_CONFIG = 3
EXIT_USAGE = 4


@click.group("migrate")
def migrate() -> None:
    """Read a FIM/MIM (or Azure AD Connect) configuration export and plan the move off the FIM Connector for
    Azure AD."""


@migrate.command("analyze")
@click.argument("export_dir", metavar="EXPORT")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as one JSON document.")
@click.option("--report", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report.")
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown report.")
@click.option("--objects-per-domain", type=click.IntRange(min=0), help="Largest AD domain's object count, if known.")
@click.option("--largest-group", type=click.IntRange(min=0), help="Members of the largest synchronized group.")
@click.option("--guests/--no-guests", default=None, help="Whether guest users are synchronized.")
@click.option("--premium/--no-premium", default=None, help="Whether the tenant has Entra ID P1 or P2.")
@click.pass_context
def analyze_command(
    ctx: click.Context,
    export_dir: str,
    as_json: bool,
    html_out: Path | None,
    md_out: Path | None,
    objects_per_domain: int | None,
    largest_group: int | None,
    guests: bool | None,
    premium: bool | None,
) -> None:
    """Inventory, topology, recommended path with reasons, Graph mapping and risks for EXPORT (a folder of
    MA-*.XML and MV.XML, an Azure AD Connect export folder, or one exported management agent)."""
    facts = Facts(objects_per_domain, largest_group, guests, premium)
    try:
        analysis = analyze(export_dir, facts)
    except ExportNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    doc = build_document(analysis)
    try:
        if html_out is not None:
            html_out.write_text(to_html(doc), encoding="utf-8")
        if md_out is not None:
            md_out.write_text(to_markdown(doc), encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write the report: {exc}", err=True)
        ctx.exit(EXIT_ERRORS)
    if as_json:
        json.dump(to_json_document(analysis), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rec = analysis.recommendation
        click.echo(f"Recommended: {rec.title}")
        for r in rec.reasons:
            click.echo(f"  - {r.rule}: {r.text}")
        if rec.changes:
            click.echo("What must change:")
            for n, r in enumerate(rec.changes, 1):
                click.echo(f"  {n}. {r.rule}: {r.text}")
        for i in analysis.export.issues:
            click.echo(str(i), err=True)
        for path in (html_out, md_out):
            if path is not None:
                click.echo(f"report written to {path}")
    ctx.exit(EXIT_ERRORS if analysis.export.errors else EXIT_OK)


@migrate.command("generate")
@click.argument("export_dir", metavar="EXPORT")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="The workspace folder."
)
@click.option(
    "--path",
    "path",
    type=click.Choice([p.value for p in GenerationPath]),
    help="The way out to generate for (default: the recommended one; graph when Entra is reached directly).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was generated as one JSON document.")
@click.option("--force", is_flag=True, help="Overwrite an idsync.yaml already in --out.")
@click.pass_context
def generate_command(
    ctx: click.Context, export_dir: str, out: Path, path: str | None, as_json: bool, force: bool
) -> None:
    """Write an idsync workspace (idsync.yaml and README.md) that replaces the deployment in EXPORT: connectors
    for its agents, the metaverse, join rules, inbound flows with precedence, outbound rules (to Microsoft Graph
    on the graph path, to AD or LDAP on the cloud-sync and connect-sync paths), deprovisioning and run profiles.
    Everything that could not be carried is listed with its agent, object type, attribute and XML location."""
    try:
        analysis = analyze(export_dir)
    except ExportNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    result = generate(analysis, path)
    try:
        written = write_workspace(result, out, force=force)
    except OutputExists as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(f"error: cannot write the workspace: {exc}", err=True)
        ctx.exit(EXIT_ERRORS)
    if as_json:
        json.dump(generate_json(result, out), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        cfg = result.config
        if result.dead_connectors:
            click.echo(f"Generated for: {result.path.value} (recommended: {result.recommended})")
            if result.ruled_out:
                click.echo(f"warning: {ruled_out_text(result)}")
                for rule, text in result.ruled_out:
                    click.echo(f"  - {rule}: {text}")
        else:
            click.echo(
                "Nothing to migrate off: no agent of this export is the retired FIM Connector for Azure AD (no tenant "
                "cutover); the workspace replaces the sync engine's own agents only"
            )
        click.echo(
            f"  {len(cfg['connectors'])} connectors, {len(cfg['metaverse'])} metaverse types, "
            f"{len(cfg['inbound'])} inbound and {len(cfg['outbound'])} outbound rules, {len(cfg['profiles'])} profiles"
        )
        for plan in result.connectors:
            mark = "  PLACEHOLDER" if plan.placeholder else ""
            click.echo(f"  connector {plan.name}: {plan.type} <- {plan.agent!r}{mark}")
        kinds: dict[str, int] = {}
        for item in result.left_out:
            kinds[item.kind.value] = kinds.get(item.kind.value, 0) + 1
        if kinds:
            listed = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            click.echo(f"  not carried: {len(result.left_out)} item(s) ({listed}); see README.md")
        if result.secrets:
            click.echo(f"  set: {', '.join(result.secrets)}")
        for p in written:
            click.echo(f"wrote {p}")
        if result.valid:
            click.echo(f"the workspace validates (check it again after editing: idsync -C {out} validate)")
        for problem in result.problems:
            click.echo(f"invalid: {problem}", err=True)
        for i in analysis.export.issues:
            click.echo(str(i), err=True)
    ctx.exit(EXIT_OK if result.valid and not analysis.export.errors else EXIT_ERRORS)


@migrate.command("cutover")
@click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(path_type=Path),
    help="The generated idsync.yaml (or its workspace folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as one JSON document.")
@click.option("--report", "md_out", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown report.")
@click.option("--limit", default=10, show_default=True, help="Findings shown per section in the text output.")
@click.pass_context
def cutover_command(ctx: click.Context, config: Path, as_json: bool, md_out: Path | None, limit: int) -> None:
    """Dry run of the cutover: import the tenant through the Graph connector and the sources, run the joins and
    flows in staging mode, and report without writing anything: joined objects, objects that would be created
    (possible duplicates), ambiguous matches, values that would change, tenant objects nothing manages, objects
    still synced from on-premises (with the steps to switch them), and what Graph cannot do, per object.

    Exit codes: 0 clean run · 1 completed with object errors (ambiguous joins, ...) · 2 stopped (a system could not
    be reached) · 3 invalid configuration or no Graph connector."""
    from idsync.cli.context import CliState, report_config_error
    from idsync.config import ConfigError
    from idsync.migrate.cutover import NoGraphConnector, dry_run
    from idsync.migrate.cutover.render import as_json as cutover_json
    from idsync.migrate.cutover.render import markdown, text
    from idsync.model import RunStatus

    state = ctx.find_object(CliState)
    try:
        report = dry_run(config, on_open=state.opened if state is not None else None)
    except ConfigError as exc:
        report_config_error(exc)
        ctx.exit(EXIT_CONFIG)
    except NoGraphConnector as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
    if md_out is not None:
        try:
            md_out.write_text(markdown(report), encoding="utf-8")
        except OSError as exc:
            click.echo(f"error: cannot write the report: {exc}", err=True)
    if as_json:
        json.dump(cutover_json(report), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        click.echo(text(report, limit), nl=False)
        if md_out is not None:
            click.echo(f"report written to {md_out}")
    ctx.exit(RunStatus(report.status).exit_code)
