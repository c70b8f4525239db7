"""The metaverse's ``<mv-data>``: schema, import flows with their precedence, provisioning, deletion rules and
(for Azure AD Connect) the global settings."""

from __future__ import annotations

from idsync.migrate.model import ImportFlow, Issue, Location, Metaverse, MvDeletionRule, Severity
from idsync.migrate.reader.dsml import SchemaBuilder
from idsync.migrate.reader.flows import find_mapping, parse_mapping
from idsync.migrate.reader.management_agent import KNOWN_FORMAT_VERSIONS
from idsync.migrate.reader.xmlsource import Element, SectionHandler, attr, child_text, children, local, text


class MetaverseReader:
    def __init__(self, rel: str, issues: list[Issue]) -> None:
        self.rel = rel
        self.issues = issues
        self.mv = Metaverse(location=Location(rel, "mv-data"))
        self._schema = SchemaBuilder(self.mv.schema)

    def handlers(self) -> dict[tuple[str, ...], SectionHandler]:
        table: dict[tuple[str, ...], SectionHandler] = {
            ("format-version",): self._header,
            ("version",): self._header,
            ("import-attribute-flow", "import-flow-set"): self._flow_set,
            ("import-attribute-flow", "per-ma-options"): self._ma_options,
            ("provisioning",): self._provisioning,
            ("mv-deletion",): self._deletion,
            ("extension",): self._extension,
            ("parameter-values",): self._parameters,
        }
        table.update(self._schema.handlers())
        return table

    def finish(self) -> Metaverse:
        self._schema.finish()
        if self.mv.format_version and self.mv.format_version not in KNOWN_FORMAT_VERSIONS:
            self.issues.append(
                Issue(
                    Severity.WARNING,
                    Location(self.rel, "mv-data/format-version"),
                    f"format-version is {self.mv.format_version}; this reader knows format-version 1; "
                    "reading on, parts may be missed",
                )
            )
        return self.mv

    def _header(self, elem: Element, where: str) -> None:
        if local(elem.tag) == "format-version":
            self.mv.format_version = text(elem)
        else:
            self.mv.version = text(elem)

    def _flow_set(self, elem: Element, where: str) -> None:
        mv_type = attr(elem, "mv-object-type")
        base = f'{where}[@mv-object-type="{mv_type}"]'
        for flows in children(elem, "import-flows"):
            mv_attr = attr(flows, "mv-attribute")
            precedence = attr(flows, "type", "ranked")
            fbase = f'{base}/import-flows[@mv-attribute="{mv_attr}"]'
            for rank, flow in enumerate(children(flows, "import-flow"), 1):
                flow_id = attr(flow, "id")
                fwhere = f'{fbase}/import-flow[@id="{flow_id}"]'
                m = find_mapping(flow)
                if m is None:
                    self.issues.append(
                        Issue(Severity.WARNING, Location(self.rel, fwhere), "import flow has no mapping")
                    )
                    continue
                try:
                    mapping = parse_mapping(m, mv_attr)
                except ValueError as exc:
                    self.issues.append(Issue(Severity.ERROR, Location(self.rel, fwhere), str(exc)))
                    continue
                self.mv.import_flows.append(
                    ImportFlow(
                        mv_object_type=mv_type,
                        mv_attribute=mv_attr,
                        precedence=precedence,
                        rank=rank,
                        ma_id=attr(flow, "src-ma"),
                        cd_object_type=attr(flow, "cd-object-type"),
                        mapping=mapping,
                        id=flow_id,
                        location=Location(self.rel, fwhere),
                    )
                )

    def _ma_options(self, elem: Element, where: str) -> None:
        self.mv.recall_ma_ids = [attr(o, "ma-id") for o in children(elem, "ma-options") if attr(o, "ma-id")]

    def _provisioning(self, elem: Element, where: str) -> None:
        self.mv.provisioning = attr(elem, "type", "none") or "none"

    def _deletion(self, elem: Element, where: str) -> None:
        for rule in children(elem, "mv-deletion-rule"):
            mv_type = attr(rule, "mv-object-type")
            self.mv.deletion_rules.append(
                MvDeletionRule(
                    mv_object_type=mv_type,
                    kind=attr(rule, "type"),
                    source_ma_ids=[text(s) for s in children(rule, "src-ma") if text(s)],
                    id=attr(rule, "id"),
                    location=Location(self.rel, f'{where}/mv-deletion-rule[@mv-object-type="{mv_type}"]'),
                )
            )

    def _extension(self, elem: Element, where: str) -> None:
        self.mv.rules_extension = child_text(elem, "assembly-name")

    def _parameters(self, elem: Element, where: str) -> None:
        for p in children(elem, "parameter"):
            if attr(p, "type") == "encrypted-string":
                continue
            self.mv.global_parameters[attr(p, "name")] = text(p)
