"""``idsync migrate``: the migration assistant off the retired FIM Connector for Azure AD."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from idsync.migrate.analysis import analyze
from idsync.migrate.reader import ExportNotFoundError
from idsync.migrate.recommend import Facts
from idsync.migrate.report import build_document, to_html, to_json_document, to_markdown

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 4


@click.group("migrate")
def migrate() -> None:
    """Read a FIM/MIM (or Azure AD Connect) configuration export and plan the move off the FIM Connector for
    Azure AD."""


@migrate.command("analyze")
@click.argument("export_dir", metavar="EXPORT_DIR")
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
    """Inventory, topology, recommended path with reasons, Graph mapping and risks for EXPORT_DIR (a folder of
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
