"""Finding the files of an export, reading each, and resolving the GUIDs that tie them together.

Three layouts are read: a Synchronization Service Manager server export (a folder of ``MA-*.XML`` and ``MV.XML``),
a single exported management agent (``<export-ma>``, which carries the agent's import flows in its own
``<mv-data>``), and Azure AD Connect's server-configuration folder (``Connectors/``, ``GlobalSettings/MV.xml``,
``SynchronizationRules/``). A file that cannot be read is reported and the rest is still read.
"""

from __future__ import annotations

from pathlib import Path

from idsync.migrate.model import (
    ImportFlow,
    Issue,
    Layout,
    Location,
    ManagementAgent,
    Metaverse,
    ServerExport,
    Severity,
    normalize_guid,
)
from idsync.migrate.reader.management_agent import ManagementAgentReader
from idsync.migrate.reader.metaverse import MetaverseReader
from idsync.migrate.reader.sync_rules import read_sync_rule
from idsync.migrate.reader.xmlsource import sniff_root, stream_sections

MA_ROOTS = frozenset({"saved-ma-configuration", "export-ma", "ma-data"})
MV_ROOTS = frozenset({"saved-mv-configuration", "mv-data"})
_CONNECT_DIRS = ("Connectors", "GlobalSettings", "SynchronizationRules")


class ExportNotFoundError(FileNotFoundError):
    """The path given is neither a file nor a folder."""


def read_export(path: str | Path) -> ServerExport:
    """Read a configuration export (folder or single file) into a :class:`ServerExport`; never raises on bad
    content: problems become :attr:`ServerExport.issues` and whatever could be read is kept."""
    root = Path(path)
    if root.is_file():
        return _read_single(root)
    if not root.is_dir():
        raise ExportNotFoundError(f"{path}: no such file or folder")
    if any(_subdir(root, d) is not None for d in _CONNECT_DIRS):
        return _read_connect(root)
    return _read_mim_folder(root)


# --- layouts -----------------------------------------------------------------------------------------------------


def _read_single(path: Path) -> ServerExport:
    export = ServerExport(root=str(path.parent), layout=Layout.MA_FILE)
    tag = sniff_root(path)
    if tag in MV_ROOTS:
        export.metaverse = _read_mv(export, path, path.name)
        export.issues.append(
            Issue(Severity.ERROR, Location(path.name, ""), "this is a metaverse export only: no management agents")
        )
    else:
        partial_mv = _read_ma(export, path, path.name)[1]
        if partial_mv is not None and partial_mv.import_flows:
            export.metaverse = partial_mv
    _resolve(export)
    return export


def _read_mim_folder(root: Path) -> ServerExport:
    export = ServerExport(root=str(root), layout=Layout.MIM_FOLDER)
    files = sorted((p for p in root.iterdir() if p.is_file()), key=lambda p: p.name.lower())
    mv_file = next((p for p in files if p.name.lower() == "mv.xml"), None)
    partial_flows: list[ImportFlow] = []
    for p in files:
        name = p.name.lower()
        if p is mv_file or not name.endswith(".xml"):
            continue
        if not name.startswith("ma-"):
            tag = sniff_root(p)
            if tag not in MA_ROOTS:
                export.issues.append(
                    Issue(
                        Severity.WARNING,
                        Location(p.name, tag),
                        "ignored: not a management agent or metaverse export"
                        + (f" (root element <{tag}>)" if tag else ""),
                    )
                )
                continue
        partial_mv = _read_ma(export, p, p.name)[1]
        if partial_mv is not None:
            partial_flows.extend(partial_mv.import_flows)
    if mv_file is not None:
        export.metaverse = _read_mv(export, mv_file, mv_file.name)
    else:
        export.issues.append(
            Issue(
                Severity.ERROR,
                Location("MV.XML", ""),
                "MV.XML is missing from the export folder: the metaverse schema, import flows and their precedence, "
                "provisioning and deletion rules are unknown; the management agents are still reported",
            )
        )
        if partial_flows:
            export.metaverse = Metaverse(import_flows=partial_flows)
    if not export.management_agents and not any(i.severity is Severity.ERROR for i in export.issues):
        export.issues.append(
            Issue(Severity.ERROR, Location(".", ""), "no management agent export (MA-*.XML) in this folder")
        )
    _resolve(export)
    return export


def _read_connect(root: Path) -> ServerExport:
    export = ServerExport(root=str(root), layout=Layout.AAD_CONNECT)
    connectors = _subdir(root, "Connectors")
    if connectors is None:
        export.issues.append(Issue(Severity.ERROR, Location("Connectors", ""), "the Connectors folder is missing"))
    else:
        for p in sorted(connectors.iterdir(), key=lambda p: p.name.lower()):
            if p.is_file() and p.name.lower().endswith(".xml"):
                _read_ma(export, p, f"{connectors.name}/{p.name}")
    settings = _subdir(root, "GlobalSettings")
    mv_file = None
    if settings is not None:
        mv_file = next((p for p in settings.iterdir() if p.name.lower() == "mv.xml"), None)
    if mv_file is not None and settings is not None:
        export.metaverse = _read_mv(export, mv_file, f"{settings.name}/{mv_file.name}")
    else:
        export.issues.append(
            Issue(
                Severity.ERROR,
                Location("GlobalSettings/MV.xml", ""),
                "GlobalSettings/MV.xml is missing: the metaverse schema and global settings are unknown",
            )
        )
    rules = _subdir(root, "SynchronizationRules")
    if rules is not None:
        for p in sorted(rules.iterdir(), key=lambda p: p.name.lower()):
            if p.is_file() and p.name.lower().endswith(".xml"):
                export.files.append(f"{rules.name}/{p.name}")
                rule = read_sync_rule(p, f"{rules.name}/{p.name}", export.issues)
                if rule is not None:
                    export.sync_rules.append(rule)
    _resolve(export)
    return export


# --- one file ------------------------------------------------------------------------------------------------------


def _read_ma(export: ServerExport, path: Path, rel: str) -> tuple[ManagementAgent | None, Metaverse | None]:
    export.files.append(rel)
    ma_reader = ManagementAgentReader(rel, export.issues)
    mv_reader = MetaverseReader(rel, export.issues)
    result = stream_sections(
        path, rel, {"ma-data": ma_reader.handlers(), "mv-data": mv_reader.handlers()}, export.issues
    )
    if result.root_tag and result.root_tag not in MA_ROOTS:
        export.issues.append(
            Issue(
                Severity.ERROR,
                Location(rel, result.root_tag),
                f"not a management agent export: the root element is <{result.root_tag}>, expected "
                "<saved-ma-configuration>, <export-ma> or <ma-data>",
            )
        )
        return None, None
    if not result.root_tag:
        return None, None
    _take_server(export, result.root_attrs)
    ma = ma_reader.finish()
    if not ma.id and not ma.name:
        return None, None
    if not ma.name:
        ma.name = ma.id
    export.management_agents.append(ma)
    return ma, mv_reader.finish()


def _read_mv(export: ServerExport, path: Path, rel: str) -> Metaverse | None:
    export.files.append(rel)
    reader = MetaverseReader(rel, export.issues)
    result = stream_sections(path, rel, {"mv-data": reader.handlers()}, export.issues)
    if result.root_tag and result.root_tag not in MV_ROOTS:
        export.issues.append(
            Issue(
                Severity.ERROR,
                Location(rel, result.root_tag),
                f"not a metaverse export: the root element is <{result.root_tag}>, expected <saved-mv-configuration>",
            )
        )
        return None
    if not result.root_tag:
        return None
    _take_server(export, result.root_attrs)
    return reader.finish()


def _take_server(export: ServerExport, attrs: dict[str, str]) -> None:
    export.server = export.server or attrs.get("server", "")
    export.export_date = export.export_date or attrs.get("export-date", "")


def _subdir(root: Path, name: str) -> Path | None:
    for p in root.iterdir():
        if p.is_dir() and p.name.lower() == name.lower():
            return p
    return None


# --- GUID references across files ------------------------------------------------------------------------------------


def _resolve(export: ServerExport) -> None:
    """Resolve every cross-file GUID; one that points nowhere leaves a warning naming the file and element."""
    by_id: dict[str, ManagementAgent] = {}
    for ma in export.management_agents:
        key = normalize_guid(ma.id)
        if key in by_id:
            export.issues.append(
                Issue(
                    Severity.WARNING,
                    Location(ma.location.file, "ma-data/id"),
                    f"management agent id {ma.id} is also used by {by_id[key].name!r} ({by_id[key].location.file})",
                )
            )
        by_id.setdefault(key, ma)

    def dangling(location: Location, what: str, guid: str) -> None:
        export.issues.append(
            Issue(Severity.WARNING, location, f"{what} {guid} names no management agent in this export")
        )

    mv = export.metaverse
    if mv is not None:
        for flow in mv.import_flows:
            source = by_id.get(normalize_guid(flow.ma_id))
            if source is not None:
                flow.ma_name = source.name
            else:
                dangling(
                    flow.location,
                    f"src-ma of the import flow into {flow.mv_object_type}.{flow.mv_attribute}:",
                    flow.ma_id,
                )
        for ma_id in mv.recall_ma_ids:
            if normalize_guid(ma_id) not in by_id:
                dangling(
                    Location(
                        mv.location.file, f'mv-data/import-attribute-flow/per-ma-options/ma-options[@ma-id="{ma_id}"]'
                    ),
                    "ma-id",
                    ma_id,
                )
        for rule in mv.deletion_rules:
            for ma_id in rule.source_ma_ids:
                if normalize_guid(ma_id) not in by_id:
                    dangling(Location(rule.location.file, rule.location.element + "/src-ma"), "src-ma", ma_id)
    for sr in export.sync_rules:
        connector = by_id.get(normalize_guid(sr.connector_id))
        if connector is not None:
            sr.connector_name = connector.name
        else:
            dangling(
                Location(sr.location.file, "synchronizationRule/connector"),
                f"connector of rule {sr.name!r}:",
                sr.connector_id,
            )
    for ma in export.management_agents:
        if ma.password_sync_target and normalize_guid(ma.password_sync_target) not in by_id:
            dangling(
                Location(
                    ma.location.file,
                    "ma-data/private-configuration/adma-configuration/password-hash-sync-config/target",
                ),
                "password hash sync target",
                ma.password_sync_target,
            )
