"""``idsync audit``: search the audit trail of exports (when, which run, which object, the values, the rule)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from idsync.cli.context import CliState, pass_state
from idsync.cli.output import console, print_json, when


def _moment(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or time (2026-11-26 or 2026-11-26T08:00)", param_hint=name
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@click.command("audit")
@click.option("--run", "run_id", type=int, help="Only exports of this run.")
@click.option("--object", "obj", metavar="OBJECT", help="Only this object: cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER.")
@click.option("--connector", help="Only exports to this connector.")
@click.option("--identifier", help="Only this exact identifier (finds deleted objects too).")
@click.option("--op", type=click.Choice(["add", "update", "delete", "update+rename"]), help="Only this operation.")
@click.option("--rule", help="Only changes an outbound rule of this name asked for.")
@click.option("--since", help="From this UTC date or time (ISO 8601).")
@click.option("--until", help="Before this UTC date or time.")
@click.option("--failed", is_flag=True, help="Only exports the target refused.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="How many exports to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_state
def audit(
    state: CliState,
    run_id: int | None,
    obj: str | None,
    connector: str | None,
    identifier: str | None,
    op: str | None,
    rule: str | None,
    since: str | None,
    until: str | None,
    failed: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Search the audit trail: every export (when, run, object, old and new values, the rule responsible), newest
    first. Secret attributes (passwords) show as [redacted]. An export that removed reference values naming no
    object of the connector space says so under the table: how many, and which."""
    from idsync.cli.inspect import resolve_object
    from idsync.service.readmodel import Secrets, audit_rows

    query: dict[str, Any] = {
        "run_id": run_id,
        "connector": connector,
        "identifier": identifier,
        "op": op,
        "rule": rule,
        "since": _moment(since, "--since"),
        "until": _moment(until, "--until"),
        "failed": True if failed else None,
    }
    ws = state.open()
    try:
        if obj is not None:
            kind, ident = resolve_object(ws, obj)
            if kind != "cs":
                raise click.UsageError(
                    "--object: the audit trail is per connector-space object (cs:ID or CONNECTOR:ANCHOR)"
                )
            query["cs_id"] = ident
        rows = audit_rows(ws.store, Secrets.of_workspace(ws), limit=limit, **query)
        unfiltered = all(v is None for k, v in query.items() if k != "cs_id")
        linked = _linked_elsewhere(ws.store, query["cs_id"]) if obj is not None and unfiltered and not rows else []
    finally:
        ws.close()
    if as_json:
        print_json({"rows": rows})
        return
    table = Table(title=f"{len(rows)} export{'s' if len(rows) != 1 else ''}" + (" (newest first)" if rows else ""))
    for column in ("when", "run", "connector", "object", "op", "rule", "changes", "result"):
        table.add_column(column)
    for r in rows:
        changes = "\n".join(
            f"{c[1]} {c[0]} = {', '.join(str(v) for v in c[2]) if isinstance(c[2], list) else c[2]}"
            for c in r["changes"]
        )
        table.add_row(
            when(r["at"]),
            str(r["run_id"] or "-"),
            escape(r["connector"]),
            escape(f"{r['identifier']} (cs:{r['cs_id']})" if r.get("cs_id") else str(r["identifier"])),
            r["op"],
            escape(r["rule"] or "-"),
            escape(changes),
            r["result"] if r["result"] == "success" else f"[red]{escape(r['result'])}[/red]",
        )
    out = console()
    out.print(table)
    for r in rows:
        # an export's warnings are sentences naming the object and the values: printed whole, under the table
        for w in r.get("warnings") or []:
            out.print(f"[yellow]warning[/yellow] (run {r['run_id'] or '-'}): {escape(w)}")
    if linked:
        out.print(
            f"nothing was exported to {escape(str(obj))}; the objects it is linked to: "
            + ", ".join(escape(f"{c.connector}:{c.identifier}") for c in linked)
        )


def _linked_elsewhere(store: Any, cs_id: int) -> list[Any]:
    """The other connector-space objects of ``cs_id``'s metaverse object. Asked for the exports of a source object
    (an HR row), which has none, the user wants to know where its values went."""
    cs = store.cs_get(cs_id)
    if cs is None or cs.mv_id is None:
        return []
    return sorted((c for c in store.cs_by_mv([cs.mv_id]).get(cs.mv_id, []) if c.id != cs_id), key=lambda c: c.id)


COMMANDS = [audit]
