"""Looking around: ``status``, ``history``, ``search``, ``show``, ``preview``."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from idsync.cli.context import CliState, pass_state, unknown_name
from idsync.cli.output import console, print_json, print_run, status_text, when
from idsync.model import LinkState
from idsync.service.readmodel import cs_json, error_json, mv_json

JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
OBJECT_HELP = "OBJECT is cs:ID, mv:ID, or CONNECTOR:ANCHOR-OR-IDENTIFIER (for example hr:E1042)."


def _trim(text: str | None, width: int = 60) -> str:
    """Shortened, and escaped for rich: a value such as [redacted] or [x] is text, not markup."""
    if text is None:
        return "-"
    return escape(text if len(text) <= width else text[: width - 1] + "…")


def _secrets(ws: Any) -> Any:
    from idsync.service.readmodel import Secrets

    return Secrets.of_workspace(ws)


def resolve_object(ws: Any, ref: str) -> tuple[str, int]:
    """OBJECT as typed -> ("cs"|"mv", id) of an object that exists. A malformed reference and one that finds
    nothing are both usage errors (exit code 4), named the way the user typed them: exit code 1 means a run that
    completed with errors, not a lookup that found nothing."""
    from idsync.service.readmodel import BadReference, NotFound
    from idsync.service.readmodel import resolve_object as resolve

    try:
        kind, ident = resolve(ws.store, ws.connector_names(), ref)
    except (BadReference, NotFound) as exc:
        raise click.UsageError(str(exc)) from None
    if kind == "cs" and ws.store.cs_get(ident) is None:
        raise no_object(ref)
    if kind == "mv" and ws.store.mv_get(ident) is None:
        raise no_object(ref)
    return kind, ident


def no_object(ref: str) -> click.UsageError:
    """The one message for an object that is not there, in the reference form the user typed."""
    kind = "metaverse" if ref.startswith("mv:") else "connector-space"
    return click.UsageError(f"no {kind} object {ref}")


@click.command("status")
@JSON
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Where things stand: connector spaces, pending imports and exports, errors, the metaverse, the last run."""
    from idsync.service.readmodel import status as read_status

    ws = state.open()
    try:
        data = read_status(ws.store, ws.config, str(ws.root))
        runs = ws.store.runs(1)
    finally:
        ws.close()
    connectors = data["connectors"]
    metaverse = data["metaverse"]
    if as_json:
        print_json(data)
        return
    out = console()
    table = Table(title="connector spaces" + (" (staging mode)" if data["staging"] else ""))
    for column in (
        "connector",
        "type",
        "objects",
        "joined",
        "disconnectors",
        "pend. import",
        "pend. export",
        "pend. delete",
        "unconfirmed",
        "errors",
    ):
        table.add_column(column, justify="left" if column in ("connector", "type") else "right")
    for c in connectors:
        table.add_row(
            c["connector"],
            str(c["type"]),
            str(c["objects"]),
            str(c["connectors"]),
            str(c["disconnectors"]),
            str(c["pending_imports"]),
            str(c["pending_exports"]),
            str(c["pending_deletes"]),
            str(c["unconfirmed"]),
            f"[red]{c['errors']}[/red]" if c["errors"] else "0",
        )
    out.print(table)
    out.print("metaverse: " + ", ".join(f"{n} {t}" for t, n in metaverse.items()))
    if data["unresolved_references"]:
        out.print(f"unresolved references waiting: {data['unresolved_references']}")
    if runs:
        run = runs[0]
        out.print(f"last run: {run.id} {run.profile} {status_text(run.status)} at {when(run.started)}")
    else:
        out.print("no run yet: idsync cycle")


@click.command("history")
@click.argument("run_id", metavar="[RUN]", required=False, type=int)
@click.option("--errors", "show_errors", is_flag=True, help="List the error rows of RUN (without RUN: the last run).")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many runs (without RUN) or errors to list.",
)
@JSON
@pass_state
def history(state: CliState, run_id: int | None, show_errors: bool, limit: int, as_json: bool) -> None:
    """Run history: the last runs, or one run's steps, counters and errors.

    --errors without RUN shows the last run with its error rows: the run an operator asks about after a run
    completed with errors.
    """
    ws = state.open()
    try:
        store = ws.store
        if run_id is None and show_errors:
            last = store.runs(1)
            if not last:
                raise click.UsageError("no run yet, so no errors to show: idsync cycle")
            run_id = last[0].id
        if run_id is None:
            runs = store.runs(limit)
            if as_json:
                print_json([r.summary() for r in runs])
                return
            table = Table(title="runs")
            for column in ("run", "profile", "status", "started", "seconds", "errors"):
                table.add_column(column)
            for r in runs:
                seconds = f"{(r.ended or r.started) - r.started:.1f}"
                errors = sum(s.counters.errors for s in r.steps)
                table.add_row(str(r.id), r.profile, status_text(r.status), when(r.started), seconds, str(errors))
            console().print(table)
            return
        run = store.run_get(run_id)
        if run is None:
            raise click.UsageError(f"no run {run_id}")
        errors = store.errors(run_id=run_id, limit=limit) if (show_errors or as_json) else []
        if as_json:
            data = run.summary()
            data["errors"] = [error_json(e) for e in errors]
            print_json(data)
            return
        out = console()
        print_run(run, out)
        if show_errors and not errors:
            out.print(f"no error rows in run {run_id}")
        elif show_errors:
            table = Table(title=f"errors of run {run_id}")
            for column in ("connector", "object", "attribute", "code", "reason"):
                table.add_column(column)
            for e in errors:
                who = e.identifier or (f"cs:{e.cs_id}" if e.cs_id else f"mv:{e.mv_id}")
                table.add_row(
                    escape(e.connector), escape(str(who)), escape(e.attribute or "-"), escape(e.code), escape(e.reason)
                )
            out.print(table)
    finally:
        ws.close()


@click.group("search")
def search() -> None:
    """Find connector-space (cs) or metaverse (mv) objects."""


@search.command("cs")
@click.option("--connector", help="Only this connector.")
@click.option("--type", "object_type", help="Only this object type.")
@click.option("--attr", "attr", help="NAME=VALUE: an attribute value (case-insensitive).")
@click.option("--identifier", help="Identifier pattern; * is a wildcard.")
@click.option("--pending-import", is_flag=True, help="Staged by an import, not yet synced.")
@click.option("--pending-export", is_flag=True, help="Staged by a sync, not yet exported.")
@click.option(
    "--pending-delete",
    is_flag=True,
    help="A delete or a disable waiting to be exported: what the deletion threshold counts.",
)
@click.option("--disconnector", is_flag=True, help="Not joined (normal, filtered or explicit disconnectors).")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in LinkState]),
    help="Only this link state (repeatable), e.g. explicit-disconnector.",
)
@click.option("--error", "with_error", is_flag=True, help="Objects whose last sync or export failed.")
@click.option("--unconfirmed", is_flag=True, help="Exported values not yet confirmed by an import.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many objects to list.")
@JSON
@pass_state
def search_cs(
    state: CliState,
    connector: str | None,
    object_type: str | None,
    attr: str | None,
    identifier: str | None,
    pending_import: bool,
    pending_export: bool,
    pending_delete: bool,
    disconnector: bool,
    states: tuple[str, ...],
    with_error: bool,
    unconfirmed: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Search connector spaces by attribute value and by state.

    A connector, object type or attribute the workspace does not know is a usage error (exit code 4) naming the
    closest known one; object types and attributes are those the last import of the connector discovered.
    """
    from idsync.service.readmodel import BadReference, cs_filter

    try:
        flt = cs_filter(
            connector=connector,
            object_type=object_type,
            attr=attr,
            identifier=identifier,
            pending_import=pending_import,
            pending_export=pending_export,
            pending_delete=pending_delete,
            disconnector=disconnector,
            error=with_error,
            unconfirmed=unconfirmed,
            states=states,
        )
    except BadReference as exc:
        raise click.UsageError(str(exc)) from None
    ws = state.open()
    try:
        _check_cs_names(ws, connector, object_type, flt.attribute)
        found = ws.store.cs_page(flt, 0, limit)
        total = ws.store.cs_count(flt)
        secrets = _secrets(ws)
    finally:
        ws.close()
    if as_json:
        print_json({"total": total, "objects": [cs_json(c, secrets) for c in found]})
        return
    table = Table(
        title=f"{total} connector-space object{'s' if total != 1 else ''}"
        + (f" (first {limit})" if total > limit else "")
    )
    for column in ("id", "connector", "type", "identifier", "state", "mv", "pending"):
        table.add_column(column)
    for c in found:
        pending = []
        if c.pending_import:
            pending.append(f"import {c.pending_import.op.value}")
        if c.pending_export:
            pending.append(f"export {c.pending_export.kind}")
        if c.error:
            pending.append("[red]error[/red]")
        table.add_row(
            f"cs:{c.id}",
            escape(c.connector),
            escape(c.object_type),
            _trim(c.identifier),
            c.link_state.value,
            f"mv:{c.mv_id}" if c.mv_id else "-",
            ", ".join(pending) or "-",
        )
    console().print(table)


@search.command("mv")
@click.option("--type", "object_type", help="Only this metaverse object type.")
@click.option("--attr", "attr", help="NAME=VALUE; * is a wildcard (case-insensitive). Without it: every object.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many objects to list.")
@JSON
@pass_state
def search_mv(state: CliState, object_type: str | None, attr: str | None, limit: int, as_json: bool) -> None:
    """Search the metaverse by attribute value, or list it: 'search mv --type person' lists the people.

    An object type or attribute the metaverse does not have is a usage error (exit code 4) naming the closest one.
    """
    from idsync.service.readmodel import BadReference, split_attr

    try:
        name, value = split_attr(attr)
    except BadReference as exc:
        raise click.UsageError(str(exc)) from None
    ws = state.open()
    try:
        _check_mv_names(ws, object_type, name)
        if name is None or value is None:
            found = ws.store.mv_page(object_type, 0, limit)
            total: int | None = ws.store.mv_count(object_type)
        else:
            found = ws.store.mv_search(object_type, name, value, limit)
            total = None  # the store counts no attribute search; the page says how many it found
        secrets = _secrets(ws)
    finally:
        ws.close()
    if as_json:
        data: dict[str, Any] = {"objects": [mv_json(m, secrets) for m in found]}
        if total is not None:
            data["total"] = total
        print_json(data)
        return
    hidden = secrets.metaverse
    count = len(found) if total is None else total
    title = f"{count} metaverse object{'s' if count != 1 else ''}"
    if total is not None and total > len(found):
        title += f" (first {len(found)})"
    elif total is None and len(found) == limit:
        title += f" (the first {limit} found)"
    table = Table(title=title)
    columns = ["id", "type", *([name] if name and name != "displayName" else []), "displayName"]
    for column in columns:
        table.add_column(escape(column))
    for m in found:
        shown = hidden.attributes(m.attributes)
        cells = [f"mv:{m.id}", escape(m.object_type)]
        if name and name != "displayName":
            cells.append(_trim(_text(shown.get(name)), 60))
        cells.append(_trim(_text(shown.get("displayName")), 60))
        table.add_row(*cells)
    console().print(table)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _check_cs_names(ws: Any, connector: str | None, object_type: str | None, attribute: str | None) -> None:
    """Usage errors for names a connector-space search cannot match: an unknown connector, or an object type or
    attribute that neither the rules nor the last import of the connector(s) know. A connector never imported has
    no discovered schema: its types and attributes are not checked."""
    names = ws.connector_names()
    if connector is not None and connector not in names:
        raise unknown_name("connector", connector, names)
    searched = [connector] if connector else names
    types: dict[str, set[str]] = {}
    for name in searched:
        for type_name, spec in ws.schema(name).object_types.items():
            types.setdefault(type_name, set()).update(spec.attributes)
    for rule in [*ws.rules.inbound, *ws.rules.outbound]:
        if rule.connector in searched:
            types.setdefault(rule.object_type, set())
    where = f" in {connector}" if connector else ""
    if object_type is not None and types and object_type not in types:
        raise unknown_name("object type", object_type, types, where)
    if attribute is None:
        return
    known = set().union(*(types[t] for t in ([object_type] if object_type else types) if t in types))
    if known and attribute not in known:
        raise unknown_name("attribute", attribute, known, where)


def _check_mv_names(ws: Any, object_type: str | None, attribute: str | None) -> None:
    """Usage errors for a metaverse object type or attribute that the configuration does not declare."""
    schemas = ws.rules.mv_schemas
    if object_type is not None and object_type not in schemas:
        raise unknown_name("metaverse object type", object_type, schemas)
    if attribute is None:
        return
    known = set().union(*(set(schemas[t].attributes) for t in ([object_type] if object_type else schemas)))
    if attribute not in known:
        raise unknown_name("metaverse attribute", attribute, known)


@click.command("show")
@click.argument("obj", metavar="OBJECT")
@JSON
@pass_state
def show(state: CliState, obj: str, as_json: bool) -> None:
    """Show a CS or MV object with its lineage: which connector and rule gave each attribute, its links, its
    pending imports and exports, unconfirmed exports and recent errors.

    OBJECT is cs:ID, mv:ID, or CONNECTOR:ANCHOR-OR-IDENTIFIER (for example hr:E1042).
    """
    from idsync.service.readmodel import NotFound, object_detail

    ws = state.open()
    try:
        kind, ident = resolve_object(ws, obj)
        try:
            data = object_detail(ws.store, kind, ident, _secrets(ws), ws.rules)
        except NotFound:
            raise no_object(obj) from None
    finally:
        ws.close()
    if as_json:
        print_json(data)
        return
    _print_show(data)


def _print_show(data: dict[str, Any]) -> None:
    out = console()
    cs = data.get("cs")
    mv = data.get("mv")
    if cs is not None:
        out.print(
            f"[bold]cs:{cs['id']}[/bold] {escape(cs['connector'])} {escape(cs['object_type'])} "
            f"{escape(repr(cs['identifier']))}"
        )
        out.print(
            f"  anchor {escape(str(cs['anchor']))} · {cs['link_state']}"
            + (f" to mv:{cs['mv_id']} ({escape(str(cs['link_rule']))})" if cs["mv_id"] else "")
        )
        table = Table(title="attributes (hologram: what the system holds)")
        table.add_column("attribute")
        table.add_column("value")
        for k, v in sorted(cs["attributes"].items()):
            table.add_row(escape(k), _trim(str(v), 80))
        out.print(table)
        if cs["pending_import"]:
            out.print(f"  pending import: {escape(pending_import_text(cs['pending_import']))}")
        if cs["pending_export"]:
            _print_export(out, cs["pending_export"])
        if cs["unconfirmed"]:
            out.print("  unconfirmed exports (sent, not yet seen back by an import):")
            for name, memo in sorted(cs["unconfirmed"].items()):
                out.print(f"    {escape(unconfirmed_text(name, memo))}")
        if cs["error"]:
            out.print(f"  [red]error:[/red] {escape(cs['error'])}")
        for e in data.get("errors", []):
            out.print(f"  error row (run {e['run_id']}): {escape(e['attribute'] or '-')}: {escape(e['reason'])}")
    if mv is not None:
        out.print(f"[bold]mv:{mv['id']}[/bold] {escape(mv['object_type'])}")
        table = Table(title="metaverse attributes and lineage")
        for column in ("attribute", "value", "from connector", "rule", "cs"):
            table.add_column(column)
        names = mv.get("references", {})
        for k, v in sorted(mv["attributes"].items()):
            lineage = mv["lineage"].get(k, {})
            if k in names:
                v = references_text(v, names[k])
            table.add_row(
                escape(k),
                _trim(str(v), 60),
                escape(lineage.get("connector", "-")),
                escape(lineage.get("rule", "-")),
                f"cs:{lineage['cs_id']}" if lineage else "-",
            )
        out.print(table)
    for link in data.get("links", []):
        pending = f" · pending {_export_kind(link['pending_export'])}" if link["pending_export"] else ""
        out.print(
            f"  link cs:{link['id']} {escape(link['connector'])} {escape(repr(link['identifier']))} "
            f"({escape(str(link['link_rule']))}){pending}"
        )
        if link["pending_export"]:
            _print_export(out, link["pending_export"], indent="    ")
    for u in data.get("unresolved", []):
        out.print(escape(f"  unresolved {u['direction']} reference {u['attribute']} -> {u['connector']}:{u['ref']}"))


def references_text(value: Any, names: dict[str, str]) -> str:
    """Reference values as show prints them: ``mv:1 (Ilgın Öztürk)``, several joined by commas, ``-`` for none."""
    ids = value if isinstance(value, list) else [value] if value is not None else []
    return ", ".join(f"mv:{i} ({names.get(str(i), '?')})" for i in ids) or "-"


def pending_import_text(pending: dict[str, Any]) -> str:
    """``update (changed: accountEnabled, department)``: what the next sync of the object will process."""
    details = []
    if pending.get("changed"):
        details.append("changed: " + ", ".join(pending["changed"]))
    if pending.get("old_identifier"):
        details.append(f"was {pending['old_identifier']!r}")
    return str(pending["op"]) + (f" ({'; '.join(details)})" if details else "")


def unconfirmed_text(name: str, memo: Any) -> str:
    """One exported value no import has confirmed yet, with how often it was sent."""
    if not isinstance(memo, dict):
        return f"{name} = {memo!r}"
    tries = int(memo.get("tries", 1))
    text = f"{name} = {memo.get('value')!r} (exported {tries} time{'s' if tries != 1 else ''}"
    if memo.get("stuck"):
        text += "; the target keeps another value, so it is not exported again"
    return text + ")"


def _export_kind(pending: dict[str, Any]) -> str:
    """``disable`` for the update a deprovision action staged (what the deletion threshold counts), else the op."""
    return str(pending.get("kind") or pending["op"])


def _print_export(out: Any, pending: dict[str, Any], indent: str = "  ") -> None:
    out.print(
        f"{indent}pending export: {_export_kind(pending)}"
        + (f" rename to {escape(repr(pending['new_identifier']))}" if pending.get("new_identifier") else "")
    )
    for name, op, values, rule in pending.get("changes", []):
        out.print(f"{indent}  {op} {escape(name)} = {_trim(str(values), 70)}  [dim](rule {escape(str(rule))})[/dim]")
    for warning in pending.get("warnings", []):
        out.print(f"{indent}  [yellow]warning:[/yellow] {escape(warning)}")


@click.command("preview")
@click.argument("obj", metavar="OBJECT")
@JSON
@pass_state
def preview_command(state: CliState, obj: str, as_json: bool) -> None:
    """What a sync of OBJECT would change — metaverse values and the pending exports it would stage in each
    connector, with the rule that decided each — computed for real and rolled back. Nothing is committed.

    A sync works on what was imported, so preview does too: after editing a source, import first (for example
    idsync run hr:delta-import, or the quickstart's 'idsync run import'), then preview.

    OBJECT is cs:ID, mv:ID, or CONNECTOR:ANCHOR-OR-IDENTIFIER.
    """
    from idsync.engine.preview import preview
    from idsync.service.readmodel import pending_export_json

    ws = state.open()
    try:
        kind, ident = resolve_object(ws, obj)
        try:
            result = preview(ws, cs_id=ident if kind == "cs" else None, mv_id=ident if kind == "mv" else None)
        except LookupError:
            raise no_object(obj) from None
        secrets = _secrets(ws)
        labels = _preview_labels(ws, result)
        stage = _stage_command(ws, result.cs_before.connector) if result.cs_before else ""
    finally:
        ws.close()
    data: dict[str, Any] = {
        "cs_before": cs_json(result.cs_before, secrets) if result.cs_before else None,
        "cs_after": cs_json(result.cs_after, secrets) if result.cs_after else None,
        "mv_before": mv_json(result.mv_before, secrets) if result.mv_before else None,
        "mv_after": mv_json(result.mv_after, secrets) if result.mv_after else None,
        "mv_changes": {
            k: secrets.metaverse.attributes({"before": b, "after": a})
            if k in secrets.metaverse
            else {"before": b, "after": a}
            for k, (b, a) in result.mv_changes.items()
        },
        "pending_exports": [cs_json(c, secrets) for c in result.links_after if c.pending_export],
        "errors": [e.describe() for e in result.errors],
    }
    if as_json:
        print_json(data)
        return
    out = console()
    out.print("[bold]preview[/bold] (nothing was committed)")
    if result.mv_after is not None and result.mv_before is None:
        out.print(f"  projects a new {escape(result.mv_after.object_type)} into the metaverse")
    if result.mv_deleted and result.mv_before is not None:
        mv_ref = references_text(result.mv_before.id, labels.get("", {}))
        out.print(f"  deletes {escape(mv_ref)} from the metaverse (the MV deletion rule); its links are deprovisioned")
    if result.cs_before is not None and result.cs_after is None:
        out.print(f"  removes {escape(obj)} from the connector space (deleted in its system)")
    if result.cs_before and result.cs_after and result.cs_before.mv_id != result.cs_after.mv_id:
        before, after = result.cs_before.mv_id, result.cs_after.mv_id
        link = "(new)" if before is None else references_text(before, labels.get("", {}))
        to = "(none)" if after is None else references_text(after, labels.get("", {}))
        how = f" ({result.cs_after.link_rule})" if result.cs_after.link_rule else ""
        out.print(f"  link: {escape(link)} -> {escape(to)}{escape(how)}")
    for k, change in data["mv_changes"].items():
        rule = result.mv_after.provenance.get(k) if result.mv_after else None
        by = f"  [dim]({escape(rule.connector)}, rule {escape(rule.rule)})[/dim]" if rule else ""
        if k in labels:
            was, now = references_text(change["before"], labels[k]), references_text(change["after"], labels[k])
        else:
            was, now = _value_text(change["before"]), _value_text(change["after"])
        out.print(f"  mv {k}: {escape(was)} -> {escape(now)}{by}")
    for c in result.links_after:
        if c.pending_export:
            out.print(f"  {escape(c.connector)} {escape(repr(c.identifier))}:")
            _print_export(out, pending_export_json(c, secrets) or {}, indent="    ")
    if not data["mv_changes"] and not data["pending_exports"]:
        if result.cs_before is not None and result.cs_before.pending_import is None:
            out.print(
                f"  no change: {escape(obj)} has no pending import. preview shows what a sync of the staged (imported)"
                " state would do, and what was imported last is synced already. After editing the source, stage the"
                f" change first: {escape(stage)}"
            )
        else:
            out.print("  no change")
    for e in data["errors"]:
        out.print(f"  [red]error:[/red] {escape(e)}")


def _stage_command(ws: Any, connector: str) -> str:
    """How to import a connector's changes without syncing them: the quickstart's 'import' profile when the
    workspace has one, else a single import step of that connector."""
    if "import" in ws.config.profiles:
        return "idsync run import"
    try:
        delta = ws.capabilities(connector).delta_import
    except Exception:  # a connector that cannot be built still gets a full import suggested
        delta = False
    return f"idsync run {connector}:{'delta-import' if delta else 'full-import'}"


def _value_text(value: Any) -> str:
    """A metaverse value in preview: quoted as Python writes it (so spaces show), ``-`` when there is none."""
    return "-" if value is None else repr(value)


def _preview_labels(ws: Any, result: Any) -> dict[str, dict[str, str]]:
    """Readable names for what preview prints as mv:ID: per reference attribute, the objects referenced before
    and after; under "" the metaverse objects the link goes from and to (a new one by its own values)."""
    from idsync.service.readmodel import referenced

    labels: dict[str, dict[str, str]] = {}
    for mv in (result.mv_before, result.mv_after):
        if mv is None:
            continue
        for attr, names in referenced(ws.store, ws.rules, mv).items():
            labels.setdefault(attr, {}).update(names)
        label = mv.attributes.get("displayName") or next(iter(mv.attributes.values()), "")
        labels.setdefault("", {})[str(mv.id)] = str(label)
    if ws.rules is not None:
        for mv in (result.mv_before, result.mv_after):
            for attr in ws.rules.reference_attributes(mv.object_type) if mv is not None else []:
                labels.setdefault(attr, {})
    return labels


COMMANDS = [status, history, search, show, preview_command]
