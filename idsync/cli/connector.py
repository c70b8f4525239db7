"""``idsync connector``: the connected systems of a workspace — their types, connectivity and schemas."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from idsync.cli.context import EXIT_STOPPED, CliState, pass_state
from idsync.cli.output import console, print_json
from idsync.model import Schema


@click.group("connector")
def connector_group() -> None:
    """The connected systems of the workspace: list them, test a connection, show a schema."""


@connector_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_connectors(state: CliState, as_json: bool) -> None:
    """Every connector with its type and what it can do (never contacts a system)."""
    ws = state.open()
    try:
        rows = []
        for name in ws.connector_names():
            caps = ws.capabilities(name)
            rows.append(
                {
                    "connector": name,
                    "type": ws.config.connectors[name].get("type"),
                    "description": ws.config.connectors[name].get("description", ""),
                    "delta_import": caps.delta_import,
                    "export": caps.export,
                    "rename": caps.rename,
                    "references_by": caps.references_by,
                }
            )
    finally:
        ws.close()
    if as_json:
        print_json(rows)
        return
    table = Table(title="connectors")
    for column in ("connector", "type", "delta import", "export", "rename", "references", "description"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["connector"],
            str(r["type"]),
            "yes" if r["delta_import"] else "no",
            "yes" if r["export"] else "no",
            "yes" if r["rename"] else "no",
            r["references_by"],
            r["description"],
        )
    console().print(table)


@connector_group.command("test")
@click.argument("name")
@pass_state
def test_connector(state: CliState, name: str) -> None:
    """Connect to NAME's system and check the credentials and the configured location. Exit code 2 if it fails."""
    from idsync.config import SecretError
    from idsync.connectors.base import ConnectorError

    ws = state.open()
    try:
        if name not in ws.connector_names():
            raise click.UsageError(f"no connector named {name!r}; known: {', '.join(ws.connector_names())}")
        try:
            ws.connector(name).test_connection()
        except (ConnectorError, SecretError) as exc:
            console(stderr=True).print(f"[red]{name}: cannot connect[/red]: {escape(state.scrub(str(exc)))}")
            raise click.exceptions.Exit(EXIT_STOPPED) from None
    finally:
        ws.close()
    console().print(f"[green]{name}: connected[/green]")


def schema_json(schema: Schema) -> dict[str, Any]:
    return {
        name: {
            a.name: {"type": a.type.value, "multivalued": a.multivalued, "required": a.required}
            for a in sorted(t.attributes.values(), key=lambda a: a.name.casefold())
        }
        for name, t in sorted(schema.object_types.items())
    }


@connector_group.command("schema")
@click.argument("name")
@click.option("--type", "object_type", help="Only this object type.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--cached", is_flag=True, help="Show what the last import discovered, without connecting.")
@pass_state
def show_schema(state: CliState, name: str, object_type: str | None, as_json: bool, cached: bool) -> None:
    """The object types and attributes NAME's system has (an LDAP server's subschema, Graph's user and group
    properties, a CSV file's columns): types as idsync maps them, single- or multi-valued, required."""
    from idsync.config import SecretError
    from idsync.connectors.base import ConnectorError

    ws = state.open()
    try:
        if name not in ws.connector_names():
            raise click.UsageError(f"no connector named {name!r}; known: {', '.join(ws.connector_names())}")
        try:
            schema = ws.schema(name) if cached else ws.connector(name).schema()
        except (ConnectorError, SecretError) as exc:
            console(stderr=True).print(f"[red]{name}: cannot read the schema[/red]: {escape(state.scrub(str(exc)))}")
            raise click.exceptions.Exit(EXIT_STOPPED) from None
    finally:
        ws.close()
    data = schema_json(schema)
    if object_type is not None:
        if object_type not in data:
            raise click.UsageError(f"{name} has no object type {object_type!r}; it has: {', '.join(data) or 'none'}")
        data = {object_type: data[object_type]}
    if as_json:
        print_json(data)
        return
    out = console()
    for type_name, attributes in data.items():
        table = Table(title=f"{name}: {type_name} ({len(attributes)} attributes)")
        for column in ("attribute", "type", "multi-valued", "required"):
            table.add_column(column)
        for attr, spec in attributes.items():
            table.add_row(attr, spec["type"], "yes" if spec["multivalued"] else "", "yes" if spec["required"] else "")
        out.print(table)


COMMANDS = [connector_group]
