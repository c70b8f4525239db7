"""``idsync quickstart``: a demo workspace that shows the whole loop in one command."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Literal

from idsync.cli.output import console, print_run
from idsync.cli.progress import RichProgress
from idsync.config import CONFIG_FILE
from idsync.store import CSFilter

MARKER = ".idsync-quickstart"
Target = Literal["entra", "csv"]
TEMPLATES: dict[str, str] = {"entra": "quickstart.yaml", "csv": "quickstart-csv.yaml"}
"""``entra``: users, managers and a group per department in an emulated Entra tenant (data/tenant.json), through
the Graph connector. ``csv``: users into data/directory.csv, with no extra installed (and what the engine
benchmark runs, up to a million people)."""
ENTRA_MODULES = ("httpx", "msal", "starlette")


class QuickstartError(Exception):
    pass


def write_workspace(
    directory: Path, *, people: int = 1200, replace: bool = False, seed: int = 2024, target: Target = "entra"
) -> Path:
    from idsync.testing.people import write_csv

    if target == "entra":
        missing = [m for m in ENTRA_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise QuickstartError(
                f"the Entra demo needs the graph and emulator extras ({', '.join(missing)} missing): "
                "pip install 'idsync[graph,emulator]', or run the demo with --target csv"
            )

    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise QuickstartError(f"{directory} exists and was not written by quickstart; choose another folder")
        if not replace:
            raise QuickstartError(f"{directory} holds a demo already; use --replace to start it over")
        shutil.rmtree(directory)
    (directory / "data").mkdir(parents=True)
    (directory / MARKER).write_text("written by idsync quickstart; --replace may delete this folder\n")
    write_csv(directory / "data" / "hr.csv", people, seed=seed)
    text = (resources.files("idsync.cli") / "templates" / TEMPLATES[target]).read_text(encoding="utf-8")
    (directory / CONFIG_FILE).write_text(text, encoding="utf-8")
    return directory


def _program() -> str:
    """How to call idsync again: as typed when it is not on PATH (``.venv/bin/idsync`` after ``make demo``)."""
    invoked = sys.argv[0] if sys.argv else "idsync"
    found = shutil.which("idsync")
    if (
        Path(invoked).name == "idsync"
        and os.sep in invoked
        and (found is None or Path(found) != Path(invoked).resolve())
    ):
        return invoked
    return "idsync"


def run_quickstart(directory: Path, *, people: int = 1200, replace: bool = False, target: Target = "entra") -> int:
    from idsync.engine.run_profiles import Runner
    from idsync.engine.workspace import Workspace

    out = console()
    try:
        write_workspace(directory, people=people, replace=replace, target=target)
    except QuickstartError as exc:
        console(stderr=True).print(f"[red]quickstart:[/red] {exc}")
        return 4
    out.print(f"wrote [bold]{directory}[/bold]: {people} HR people in data/hr.csv, the configuration in {CONFIG_FILE}")
    with Workspace.load(directory) as ws:
        run = Runner(ws, progress=RichProgress()).cycle()
        print_run(run, out)
        people_count = ws.store.mv_count("person")
        groups = ws.store.mv_count("group") if target == "entra" else 0
        sample = ws.store.cs_page(CSFilter(connector="hr"), 10, 1)
    where = str(directory)
    prog = _program()
    someone = f"hr:{sample[0].anchor}" if sample else "hr:<employeeId>"
    if target == "entra":
        summary = (
            f"{people_count} people and {groups} department groups in the metaverse, provisioned into Entra ID (an "
            "emulated tenant kept in data/tenant.json): users with their managers, leavers disabled, a security "
            "group per department."
        )
    else:
        summary = f"{people_count} people in the metaverse; the active ones are provisioned into data/directory.csv."
    at = f"{prog} -C {where}"
    tenant = [
        (f"{at} search cs --connector entra", "the users and groups in the tenant"),
        (f"{prog} emulator graph --port 8765 --tenant-file {Path(where) / 'data' / 'tenant.json'}", ""),
        ("    serve the tenant over HTTP to any Graph client (curl, msgraph-sdk) until Ctrl+C", ""),
    ]
    steps = [
        (f"{at} status", "what is where"),
        (f"{at} search mv --attr sn='Mü*'", "find people"),
        (f"{at} show {someone}", "an object, its links and lineage"),
        *(tenant if target == "entra" else []),
        (f"{at} cycle", "nothing to do: everything is in sync"),
        (f"(edit {Path(where) / 'data' / 'hr.csv'}: change someone's department or status, then)", ""),
        (f"{at} run import", "stage the change, sync nothing"),
        (f"{at} preview {someone}", "what a sync would change, committing nothing"),
        (f"{at} on-demand {someone}", "that person alone, from HR to the target, now"),
        (f"{at} cycle --json", "or everyone's changes"),
    ]
    # the descriptions in one column, however long the folder's name and the sample's anchor are
    width = max(len(command) for command, said in steps if said) + 2
    lines = [f"  {command.ljust(width)}{said}" if said else f"  {command}" for command, said in steps]
    out.print(f"\n{summary}\n\nTry next:\n" + "\n".join(lines), markup=False)
    return run.status.exit_code
