"""Setting up: ``quickstart``, ``init``, ``validate``, ``config schema``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import click

from idsync.cli.context import EXIT_CONFIG, CliState, pass_state, report_config_error
from idsync.cli.output import console, print_json
from idsync.config import CONFIG_FILE, ConfigError

INIT_COLUMNS = ("employeeId", "givenName", "sn", "department", "managerId", "status")
"""The HR file's columns that templates/init.yaml reads (its anchor and the sources of its flows)."""


@click.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing idsync.yaml.")
@pass_state
def init(state: CliState, force: bool) -> None:
    """Write a commented idsync.yaml to start from (an HR CSV source and the metaverse rules around it)."""
    target = state.workspace / CONFIG_FILE
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists; use --force to overwrite it")
    state.workspace.mkdir(parents=True, exist_ok=True)
    (state.workspace / "data").mkdir(exist_ok=True)
    text = (resources.files("idsync.cli") / "templates" / "init.yaml").read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    # the file names a source file that is not there yet: without it the first cycle stops on a missing file
    where = state.workspace
    console().print(
        f"wrote {target}: an HR source and no target yet. Put the HR export at {where / 'data' / 'hr.csv'} (a header "
        f"row, then one row per person; columns: {', '.join(INIT_COLUMNS)}), edit the file for your systems, then: "
        f"idsync -C {where} validate, and idsync -C {where} cycle",
        markup=False,
    )


@click.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@pass_state
def validate(state: CliState, as_json: bool) -> None:
    """Check idsync.yaml: every setting, every connector block, every expression. Exit code 3 when invalid.

    Problems are reported all at once with file, line and column.
    """
    from idsync.connectors.registry import ConnectorRegistry
    from idsync.engine.workspace import load_workspace_config

    try:
        loaded, rules = load_workspace_config(state.workspace.resolve(), ConnectorRegistry())
    except ConfigError as exc:
        if as_json:
            print_json(
                {
                    "valid": False,
                    "problems": [
                        {
                            "message": i.message,
                            "file": i.position.file if i.position else None,
                            "line": i.position.line if i.position else None,
                            "column": i.position.column if i.position else None,
                            "path": ".".join(str(p) for p in i.path),
                        }
                        for i in exc.issues
                    ],
                }
            )
        else:
            report_config_error(exc)
        raise click.exceptions.Exit(EXIT_CONFIG) from None
    summary: dict[str, Any] = {
        "valid": True,
        "connectors": len(loaded.config.connectors),
        "metaverse_types": len(loaded.config.metaverse),
        "inbound_rules": len(rules.inbound),
        "outbound_rules": len(rules.outbound),
        "profiles": sorted(loaded.config.profiles),
    }
    if as_json:
        print_json(summary)
    else:
        console().print(
            f"[green]valid[/green]: {summary['connectors']} connectors, {summary['metaverse_types']} metaverse types, "
            f"{summary['inbound_rules']} inbound and {summary['outbound_rules']} outbound rules, "
            f"profiles: {', '.join(summary['profiles']) or 'none'}"
        )


@click.group("config")
def config_group() -> None:
    """Configuration tools."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of idsync.yaml (for editor completion and validation), connector blocks included."""
    print_json(workspace_json_schema())


def workspace_json_schema() -> dict[str, Any]:
    from idsync.config import WorkspaceConfig
    from idsync.connectors.registry import ConnectorRegistry, UnknownConnectorType

    schema = WorkspaceConfig.model_json_schema()
    registry = ConnectorRegistry()
    variants = []
    defs = schema.setdefault("$defs", {})
    for name in registry.names():
        try:
            model = registry.get(name).config_model
        except (UnknownConnectorType, AttributeError):
            continue
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        for key, value in sub.pop("$defs", {}).items():
            defs.setdefault(key, value)
        title = f"{name}Connector"
        defs[title] = sub
        variants.append({"$ref": f"#/$defs/{title}"})
    if variants:
        schema["properties"]["connectors"] = {
            "type": "object",
            "description": "Connected systems by name; 'type' picks the connector.",
            "additionalProperties": {"oneOf": variants},
        }
    schema["title"] = "idsync workspace (idsync.yaml)"
    json.dumps(schema)  # the schema must serialize
    return schema


@click.command("quickstart")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--people", default=1200, show_default=True, type=click.IntRange(min=1), help="How many HR people to generate."
)
@click.option("--replace", is_flag=True, help="Replace a demo workspace that quickstart wrote before.")
@click.option(
    "--target",
    type=click.Choice(["entra", "csv"]),
    default="entra",
    show_default=True,
    help="entra: an emulated Entra tenant kept in data/tenant.json; csv: a target file, data/directory.csv.",
)
@click.pass_context
def quickstart(
    ctx: click.Context, directory: Path | None, people: int, replace: bool, target: Literal["entra", "csv"]
) -> None:
    """Write a demo workspace (generated HR file, a target, a configuration) and run a first full cycle.

    The HR people are provisioned into Entra ID - an emulated tenant kept in the workspace - with their managers,
    a security group per department, and leavers disabled. DIRECTORY defaults to ./idsync-demo. Afterwards
    `idsync -C DIRECTORY cycle` exports nothing: everything is already in sync.
    """
    from idsync.cli.quickstart import run_quickstart

    state: CliState = ctx.obj
    folder = directory or Path("idsync-demo")
    if directory is None and state.workspace != Path():
        folder = state.workspace
    code = run_quickstart(folder, people=people, replace=replace, target=target)
    raise click.exceptions.Exit(code)


COMMANDS = [quickstart, init, validate, config_group]
