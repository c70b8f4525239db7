"""A management agent's ``<ma-data>``: header, schema, inclusions, connector filters, join, projection, export
flows, provisioning cleanup, extensions, private configuration, partitions and run profiles."""

from __future__ import annotations

from idsync.migrate.model import (
    ConnectorFilter,
    ExportFlow,
    FilterCondition,
    Issue,
    JoinCriterion,
    JoinProfile,
    Location,
    ManagementAgent,
    Partition,
    ProjectionRule,
    RunProfile,
    RunStep,
    ScriptedMapping,
    Severity,
    normalize_guid,
)
from idsync.migrate.reader.dsml import SchemaBuilder
from idsync.migrate.reader.flows import find_mapping, is_secret_attribute, parse_mapping
from idsync.migrate.reader.xmlsource import (
    Element,
    SectionHandler,
    attr,
    child,
    child_text,
    children,
    descendants,
    local,
    text,
    truthy,
)

KNOWN_FORMAT_VERSIONS = frozenset({"1"})

_HEADER_FIELDS = {
    "id": "id",
    "name": "name",
    "category": "category",
    "subtype": "subtype",
    "ma-listname": "list_name",
    "ma-companyname": "company_name",
    "format-version": "format_version",
    "version": "version",
    "description": "description",
}


def _q(name: str, value: str) -> str:
    """An element-path predicate naming the item, so a message points at one element of many."""
    return f'[@{name}="{value}"]' if value else ""


class ManagementAgentReader:
    """Fills one :class:`ManagementAgent` from the sections of its ``<ma-data>`` as they stream by."""

    def __init__(self, rel: str, issues: list[Issue]) -> None:
        self.rel = rel
        self.issues = issues
        self.ma = ManagementAgent(id="", name="", location=Location(rel, "ma-data"))
        self._schema = SchemaBuilder(self.ma.schema)

    def handlers(self) -> dict[tuple[str, ...], SectionHandler]:
        table: dict[tuple[str, ...], SectionHandler] = {(tag,): self._header for tag in _HEADER_FIELDS}
        table.update(self._schema.handlers())
        table.update(
            {
                ("attribute-inclusion",): self._inclusion,
                ("stay-disconnector",): self._filters,
                ("join",): self._join,
                ("projection",): self._projection,
                ("export-attribute-flow", "export-flow-set"): self._export_flow_set,
                ("provisioning-cleanup",): self._cleanup,
                ("extension",): self._extension,
                ("private-configuration",): self._private,
                ("ma-partition-data", "partition"): self._partition,
                ("ma-run-data", "run-configuration"): self._run_profile,
            }
        )
        return table

    def finish(self) -> ManagementAgent:
        self._schema.finish()
        for ca in (a for cls in self.ma.schema.classes.values() for a in cls.attributes if a.is_anchor):
            for cls_name, cls in self.ma.schema.classes.items():
                if ca in cls.attributes:
                    self.ma.anchors.setdefault(cls_name, [])
                    if ca.name not in self.ma.anchors[cls_name]:
                        self.ma.anchors[cls_name].append(ca.name)
        if self.ma.format_version and self.ma.format_version not in KNOWN_FORMAT_VERSIONS:
            self.issues.append(
                Issue(
                    Severity.WARNING,
                    Location(self.rel, "ma-data/format-version"),
                    f"format-version is {self.ma.format_version}; this reader knows format-version 1 "
                    "(FIM 2010 to MIM 2016 SP2 and Azure AD Connect); reading on, parts may be missed",
                )
            )
        if not self.ma.id:
            self.issues.append(
                Issue(Severity.ERROR, Location(self.rel, "ma-data/id"), "the management agent has no <id>")
            )
        self._resolve_run_partitions()
        return self.ma

    # --- sections --------------------------------------------------------------------------------------------

    def _header(self, elem: Element, where: str) -> None:
        setattr(self.ma, _HEADER_FIELDS[local(elem.tag)], text(elem))

    def _inclusion(self, elem: Element, where: str) -> None:
        self.ma.attribute_inclusion = [text(a) for a in children(elem, "attribute") if text(a)]

    def _filters(self, elem: Element, where: str) -> None:
        for fs in children(elem, "filter-set"):
            f = ConnectorFilter(
                cd_object_type=attr(fs, "cd-object-type"),
                kind=attr(fs, "type", "declared"),
                location=Location(self.rel, where + "/filter-set" + _q("cd-object-type", attr(fs, "cd-object-type"))),
            )
            for alt in children(fs, "filter-alternative"):
                f.alternatives.append(
                    [
                        FilterCondition(attr(c, "cd-attribute"), attr(c, "operator"), child_text(c, "value"))
                        for c in children(alt, "condition")
                    ]
                )
            self.ma.connector_filters.append(f)

    def _join(self, elem: Element, where: str) -> None:
        for jp in children(elem, "join-profile"):
            cd_type = attr(jp, "cd-object-type")
            profile = JoinProfile(cd_type)
            base = where + "/join-profile" + _q("cd-object-type", cd_type)
            for jc in children(jp, "join-criterion"):
                profile.criteria.append(self._criterion(jc, base))
            self.ma.join_profiles.append(profile)

    def _criterion(self, jc: Element, base: str) -> JoinCriterion:
        crit_id = attr(jc, "id")
        where = base + "/join-criterion" + _q("id", crit_id)
        search = child(jc, "search")
        resolution = child(jc, "resolution")
        crit = JoinCriterion(
            id=crit_id,
            kind="direct",
            mv_object_type=(attr(search, "mv-object-type") or None) if search is not None else None,
            resolution=attr(resolution, "type", "none") if resolution is not None else "none",
            resolution_script=child_text(resolution, "script-context") if resolution is not None else "",
            sync_rule_id=attr(jc, "sync-rule-id"),
            location=Location(self.rel, where),
        )
        for am in children(search, "attribute-mapping") if search is not None else []:
            mv_attr = attr(am, "mv-attribute")
            m = find_mapping(am)
            if m is None:
                self._warn(where, f"attribute-mapping for {mv_attr!r} has no mapping")
                continue
            crit.attribute_mappings.append((mv_attr, parse_mapping(m, mv_attr)))
        if attr(jc, "join-cri-type") == "sync-rule":
            crit.kind = "sync-rule"
        elif crit.resolution == "scripted" or any(isinstance(m, ScriptedMapping) for _, m in crit.attribute_mappings):
            crit.kind = "scripted"
        return crit

    def _projection(self, elem: Element, where: str) -> None:
        for cm in children(elem, "class-mapping"):
            cd_type = attr(cm, "cd-object-type")
            self.ma.projection.append(
                ProjectionRule(
                    cd_object_type=cd_type,
                    kind=attr(cm, "type", "declared"),
                    mv_object_type=child_text(cm, "mv-object-type") or None,
                    id=attr(cm, "id"),
                    sync_rule_id=attr(cm, "sync-rule-id"),
                    location=Location(self.rel, where + "/class-mapping" + _q("cd-object-type", cd_type)),
                )
            )

    def _export_flow_set(self, elem: Element, where: str) -> None:
        cd_type = attr(elem, "cd-object-type")
        mv_type = attr(elem, "mv-object-type")
        base = where + _q("cd-object-type", cd_type)
        for ef in children(elem, "export-flow"):
            cd_attr = attr(ef, "cd-attribute")
            fwhere = base + "/export-flow" + _q("cd-attribute", cd_attr)
            m = find_mapping(ef)
            if m is None:
                self._warn(fwhere, "export flow has no mapping")
                continue
            try:
                mapping = parse_mapping(m, cd_attr)
            except ValueError as exc:
                self.issues.append(Issue(Severity.ERROR, Location(self.rel, fwhere), str(exc)))
                continue
            self.ma.export_flows.append(
                ExportFlow(
                    cd_object_type=cd_type,
                    mv_object_type=mv_type,
                    cd_attribute=cd_attr,
                    mapping=mapping,
                    id=attr(ef, "id"),
                    # "Allow Nulls" unchecked is MIM's default: a missing attribute means deletions are suppressed
                    suppress_deletions=truthy(attr(ef, "suppress-deletions") or "true"),
                    location=Location(self.rel, fwhere),
                )
            )

    def _cleanup(self, elem: Element, where: str) -> None:
        self.ma.provisioning_cleanup = attr(elem, "type", "declared")
        self.ma.provisioning_cleanup_action = child_text(elem, "action")

    def _extension(self, elem: Element, where: str) -> None:
        self.ma.rules_extension = child_text(elem, "assembly-name")

    def _private(self, elem: Element, where: str) -> None:
        adma = child(elem, "adma-configuration")
        if adma is not None:
            self.ma.forest_name = child_text(adma, "forest-name")
            cd_ext = child(adma, "cd-extension")
            if cd_ext is not None and child_text(cd_ext, "assembly-name"):
                self.ma.connector_extensions.append(child_text(cd_ext, "assembly-name"))
            phs = child(adma, "password-hash-sync-config")
            if phs is not None:
                self.ma.password_sync_target = child_text(phs, "target")
        config = child(elem, "MAConfig")
        if config is None:
            return
        ext = child(config, "extension-config")
        if ext is not None:
            self.ma.extension_filename = child_text(ext, "filename")
            self.ma.assembly_version = child_text(ext, "assembly-version")
        importing = child(config, "importing")
        anchor = child(importing, "anchor") if importing is not None else None
        for a in children(anchor, "attribute") if anchor is not None else []:
            oc = attr(a, "object_class") or "*"
            self.ma.anchors.setdefault(oc, [])
            if text(a) and text(a) not in self.ma.anchors[oc]:
                self.ma.anchors[oc].append(text(a))
        if importing is not None and child_text(importing, "object_class_attribute"):
            self.ma.object_class_attribute = child_text(importing, "object_class_attribute")
        values = child(config, "parameter-values")
        for param in children(values, "parameter") if values is not None else []:
            name = attr(param, "name")
            secret = truthy(attr(param, "encrypted")) or "encrypted" in attr(param, "type").lower()
            if name and not secret and not is_secret_attribute(name) and text(param):
                self.ma.parameters[name] = text(param)
        if child_text(config, "ldap-dn"):
            self.ma.ldap_dn = truthy(child_text(config, "ldap-dn"))
        for fmt in ("delimited_format", "fixed_width_format"):
            file_format = child(config, fmt)
            if file_format is not None and child_text(file_format, "code_page"):
                self.ma.code_page = child_text(file_format, "code_page")
        delimited = child(config, "delimited_format")
        if delimited is not None:
            self.ma.delimiter = _character(child_text(delimited, "delimiter"))
            if child(delimited, "text_qualifier") is not None:
                self.ma.text_qualifier = _character(child_text(delimited, "text_qualifier"))
            columns = child(delimited, "attributes")
            if columns is not None:
                names = (child_text(a, "name") for a in children(columns, "attribute"))
                self.ma.file_columns = [n for n in names if n]
            if child_text(delimited, "first_row_contains_headers"):
                self.ma.header_row = truthy(child_text(delimited, "first_row_contains_headers"))
        pwd = child(config, "password-extension-config")
        if pwd is not None and truthy(child_text(pwd, "password-extension-enabled")) and child_text(pwd, "dll"):
            self.ma.connector_extensions.append(child_text(pwd, "dll"))

    def _partition(self, elem: Element, where: str) -> None:
        part = Partition(id=child_text(elem, "id"), name=child_text(elem, "name"))
        part.selected = truthy(child_text(elem, "selected") or "1")
        flt = child(elem, "filter")
        if flt is not None:
            part.object_classes = [text(o) for o in descendants(flt, "object-class") if text(o)]
            part.inclusions = [text(i) for i in descendants(flt, "inclusion") if text(i)]
            part.exclusions = [text(i) for i in descendants(flt, "exclusion") if text(i)]
        custom = child(elem, "custom-data")
        if custom is not None:
            data = next(iter(custom), None)
            if data is not None:
                part.dn = child_text(data, "dn")
                is_domain = child_text(data, "is-domain")
                part.is_domain = truthy(is_domain) if is_domain else None
        if not part.name:
            part.name = part.dn or child_text(elem, "display-name") or part.id
        self.ma.partitions.append(part)

    def _run_profile(self, elem: Element, where: str) -> None:
        profile = RunProfile(id=child_text(elem, "id"), name=child_text(elem, "name"))
        config = child(elem, "configuration")
        for step in children(config, "step") if config is not None else []:
            st = child(step, "step-type")
            subtype = next((text(c) for c in st), "") if st is not None else ""
            profile.steps.append(
                RunStep(
                    step_type=attr(st, "type") if st is not None else "",
                    subtype=subtype,
                    partition_id=child_text(step, "partition"),
                )
            )
        self.ma.run_profiles.append(profile)

    # --- helpers ---------------------------------------------------------------------------------------------

    def _resolve_run_partitions(self) -> None:
        by_id = {normalize_guid(p.id): p for p in self.ma.partitions if p.id}
        for profile in self.ma.run_profiles:
            for n, step in enumerate(profile.steps, 1):
                if not step.partition_id:
                    continue
                part = by_id.get(normalize_guid(step.partition_id))
                if part is not None:
                    step.partition_name = part.name
                else:
                    self._warn(
                        f'ma-data/ma-run-data/run-configuration[@name="{profile.name}"]/configuration/step[{n}]'
                        "/partition",
                        f"partition {step.partition_id} names no partition of management agent {self.ma.name!r}",
                    )

    def _warn(self, where: str, message: str) -> None:
        self.issues.append(Issue(Severity.WARNING, Location(self.rel, where), message))


def _character(code: str) -> str:
    """A delimited file's delimiter or text qualifier, which the export gives as a character code (44 for a
    comma, 9 for a tab, 34 for a double quote); empty when there is none or it is not a code."""
    code = code.strip()
    if not code.isdecimal():
        return code if len(code) == 1 else ""
    value = int(code)
    return chr(value) if 0 < value < 0x110000 else ""
