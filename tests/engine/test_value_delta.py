"""A partial import record can add and remove values of a multi-valued attribute (Graph members@delta, DirSync
incremental member values) without restating the whole group; replays are harmless."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from idsync.connectors.base import (
    Capabilities,
    ConnectorContext,
    ExportItem,
    ExportResult,
    ImportPage,
    ImportRecord,
    ValueDelta,
)
from idsync.connectors.config import ConnectorConfig
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import AttributeSpec, AttributeType, ObjectTypeSchema, RunStatus, Schema, StepKind

SCHEMA = Schema(
    {
        "group": ObjectTypeSchema(
            "group", {"members": AttributeSpec("members", AttributeType.REFERENCE, multivalued=True)}
        ),
        "user": ObjectTypeSchema("user", {}),
    }
)


class FeedConfig(ConnectorConfig):
    pass


class Feed:
    """Full import: the records in ``full``; delta import: the pages queued in ``deltas``."""

    full: ClassVar[list[ImportRecord]] = []
    deltas: ClassVar[list[list[ImportRecord]]] = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.capabilities = Capabilities(delta_import=True)

    def schema(self) -> Schema:
        return SCHEMA

    def test_connection(self) -> None:
        pass

    def full_import(self) -> Iterator[ImportPage]:
        yield ImportPage(list(self.full), watermark="0")

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        while self.deltas:
            yield ImportPage(self.deltas.pop(0), watermark=str(int(watermark or 0) + 1))

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        return []

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        return None

    def close(self) -> None:
        pass


class FeedType:
    name: ClassVar[str] = "feed"
    config_model: ClassVar[type[ConnectorConfig]] = FeedConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> Feed:
        return Feed(name)


CONFIG = """
connectors:
  src: {type: feed}
metaverse:
  person: [uid]
  group:
    attributes: {name: string, members: "reference[]"}
inbound:
  - {name: people, connector: src, object_type: user, metaverse_type: person, project: true, flows: {uid: uid}}
  - name: groups
    connector: src
    object_type: group
    metaverse_type: group
    project: true
    flows: {name: name, members: members}
"""


def test_member_deltas_add_and_remove_values(tmp_path: Path) -> None:
    (tmp_path / "idsync.yaml").write_text(CONFIG)
    registry = ConnectorRegistry()
    registry.register("feed", FeedType)
    users = [ImportRecord(f"u{i}", f"u{i}", "user", {"uid": f"u{i}"}) for i in range(4)]
    Feed.full = [*users, ImportRecord("g", "g", "group", {"name": "G", "members": ["u0", "u1"]})]
    Feed.deltas = [
        [ImportRecord("g", "g", "group", {"members": ValueDelta(add=("u2", "u3"), remove=("u0",))}, partial=True)],
        # a replay of the same change, then a removal of a value that is not there
        [ImportRecord("g", "g", "group", {"members": ValueDelta(add=("u2",), remove=("u0", "u9"))}, partial=True)],
    ]

    def run(*steps: tuple[str, StepKind]) -> None:
        with Workspace.load(tmp_path, registry=registry) as ws:
            result = Runner(ws).run_steps("t", list(steps))
            assert result.status is RunStatus.SUCCESS, [s.message for s in result.steps]

    def members() -> set[str]:
        with Workspace.load(tmp_path, registry=registry) as ws:
            (group,) = ws.store.mv_page("group", 0, 10)
            people = {str(m.id): m.attributes["uid"] for m in ws.store.mv_page("person", 0, 10)}
            return {people[v] for v in group.attributes.get("members", [])}

    run(("src", StepKind.FULL_IMPORT), ("src", StepKind.FULL_SYNC))
    assert members() == {"u0", "u1"}
    run(("src", StepKind.DELTA_IMPORT), ("src", StepKind.DELTA_SYNC))
    assert members() == {"u1", "u2", "u3"}


def test_an_object_first_seen_in_a_delta_gets_its_added_values(tmp_path: Path) -> None:
    """A group created since the last import arrives as a partial record whose members are all additions."""
    (tmp_path / "idsync.yaml").write_text(CONFIG)
    registry = ConnectorRegistry()
    registry.register("feed", FeedType)
    Feed.full = [ImportRecord(f"u{i}", f"u{i}", "user", {"uid": f"u{i}"}) for i in range(3)]
    created = ImportRecord("g", "g", "group", {"name": "G", "members": ValueDelta(add=("u0", "u1"))}, partial=True)
    changed = ImportRecord("g", "g", "group", {"members": ValueDelta(add=("u2",), remove=("u0",))}, partial=True)
    with Workspace.load(tmp_path, registry=registry) as ws:
        runner = Runner(ws)
        Feed.deltas = [[created]]
        runner.run_steps("t", [("src", StepKind.FULL_IMPORT), ("src", StepKind.DELTA_IMPORT)])
        (group,) = ws.store.cs_by_anchor("src", ["g"]).values()
        assert group.hologram["members"] == ["u0", "u1"] and group.hologram["name"] == "G"
        Feed.deltas = [[changed]]
        runner.run_steps("t", [("src", StepKind.DELTA_IMPORT), ("src", StepKind.FULL_SYNC)])
        (group,) = ws.store.cs_by_anchor("src", ["g"]).values()
        assert group.hologram["members"] == ["u1", "u2"]
        (mv_group,) = ws.store.mv_page("group", 0, 10)
        people = {str(m.id): m.attributes["uid"] for m in ws.store.mv_page("person", 0, 10)}
        assert {people[v] for v in mv_group.attributes["members"]} == {"u1", "u2"}
