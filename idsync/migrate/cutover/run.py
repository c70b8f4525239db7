"""The cutover dry run: the generated workspace run once in staging mode against the live tenant, in a
throwaway state store, then reported.

Every connector is fully imported (the tenant through the Graph connector, read only), every source and then
every Graph connector fully synchronized — joins, projection, precedence, provisioning and outbound flows as a
real run does them — and every target exported in staging mode, which computes and keeps the pending exports and
sends nothing. The state store lives in a temporary folder and is deleted afterwards, so the workspace's own state
(and its watermarks) are untouched: the dry run can be repeated as often as needed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idsync.config import CONFIG_FILE
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.run_profiles import Runner, RunOptions
from idsync.engine.workspace import Workspace, load_workspace_config
from idsync.migrate.cutover.findings import CutoverReport, collect, graph_connectors
from idsync.model import StepKind
from idsync.store import open_store

DRY_RUN_PROFILE = "cutover-dry-run"


class NoGraphConnector(ValueError):
    """The configuration has no Graph connector: there is no tenant to cut over to."""


def workspace_root(config: Path) -> Path:
    """``--config`` may name the file or the workspace folder."""
    config = Path(config)
    return config.parent if config.name == CONFIG_FILE or config.is_file() else config


def dry_run_steps(ws: Workspace) -> list[tuple[str, StepKind]]:
    graph = graph_connectors(ws)
    names = ws.connector_names()
    sources = [n for n in names if n not in graph]
    targets = list(dict.fromkeys(r.connector for r in ws.rules.outbound))
    steps = [(n, StepKind.FULL_IMPORT) for n in names]
    steps += [(n, StepKind.FULL_SYNC) for n in sources + graph]
    steps += [(n, StepKind.EXPORT) for n in targets if ws.capabilities(n).export]
    return steps


def dry_run(
    config: Path,
    *,
    registry: ConnectorRegistry | None = None,
    options: dict[str, Any] | None = None,
    on_open: Callable[[Workspace], None] | None = None,
) -> CutoverReport:
    """Run the workspace at ``config`` in staging mode against its connected systems and report. Raises
    :class:`idsync.config.ConfigError` for an invalid configuration and :class:`NoGraphConnector` when it has no
    Graph connector. ``on_open`` sees the workspace before anything runs (the command line learns its secrets)."""
    root = workspace_root(config).resolve()
    registry = registry or ConnectorRegistry()
    loaded, rules = load_workspace_config(root, registry)
    with tempfile.TemporaryDirectory(prefix="idsync-cutover-") as scratch:
        store = open_store(f"sqlite:///{Path(scratch) / 'dry-run.db'}", Path(scratch))
        ws = Workspace(root, loaded, rules, store, registry, options)
        try:
            if on_open is not None:
                on_open(ws)
            ws.recompile()
            if not graph_connectors(ws):
                raise NoGraphConnector(
                    f"{root / CONFIG_FILE} has no connector of type graph: the cutover dry run needs the tenant "
                    "(generate the workspace with --path graph)"
                )
            run = Runner(ws, RunOptions(staging=True)).run_steps(DRY_RUN_PROFILE, dry_run_steps(ws))
            return collect(ws, run, str(root / CONFIG_FILE))
        finally:
            ws.close()
