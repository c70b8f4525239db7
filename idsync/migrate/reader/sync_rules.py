"""Azure AD Connect declarative synchronization rules (``SynchronizationRules/SynchronizationRule_{guid}.xml``).

Each file is one small ``<synchronizationRule>``. A mapping's ``<src>`` holds either ``<attr>`` children (a flow
from those attributes, through ``<expression>`` when present) or plain text (a constant, such as ``True``).
"""

from __future__ import annotations

from pathlib import Path

from idsync.migrate.model import (
    Issue,
    JoinCondition,
    Location,
    RuleMapping,
    ScopeCondition,
    Severity,
    SyncRule,
)
from idsync.migrate.reader.flows import REDACTED, is_secret_attribute
from idsync.migrate.reader.xmlsource import Element, attr, child, child_text, children, local, parse_whole, text, truthy


def read_sync_rule(path: Path, rel: str, issues: list[Issue]) -> SyncRule | None:
    root = parse_whole(path, rel, issues)
    if root is None:
        return None
    if local(root.tag) != "synchronizationRule":
        issues.append(
            Issue(
                Severity.ERROR,
                Location(rel, local(root.tag)),
                f"expected a <synchronizationRule>, found <{local(root.tag)}>; file skipped",
            )
        )
        return None
    where = "synchronizationRule"
    raw_precedence = child_text(root, "precedence")
    try:
        precedence = int(raw_precedence)
    except ValueError:
        issues.append(
            Issue(
                Severity.WARNING,
                Location(rel, where + "/precedence"),
                f"precedence {raw_precedence!r} is not a number; taken as 0",
            )
        )
        precedence = 0
    rule = SyncRule(
        id=child_text(root, "id"),
        name=child_text(root, "name"),
        direction=child_text(root, "direction"),
        connector_id=child_text(root, "connector"),
        source_object_type=child_text(root, "sourceObjectType"),
        target_object_type=child_text(root, "targetObjectType"),
        link_type=child_text(root, "linkType"),
        precedence=precedence,
        immutable_tag=child_text(root, "immutable-tag"),
        disabled=truthy(child_text(root, "disabled")),
        password_sync=truthy(child_text(root, "EnablePasswordSync")),
        location=Location(rel, where),
    )
    mappings = child(root, "attribute-mappings")
    for m in children(mappings, "mapping") if mappings is not None else []:
        rule.mappings.append(_mapping(m))
    criteria = child(root, "relationshipCriteria")
    for group in children(criteria, "conditions") if criteria is not None else []:
        rule.join_groups.append(
            [
                JoinCondition(
                    child_text(c, "csAttribute"),
                    child_text(c, "ilmAttribute"),
                    truthy(child_text(c, "caseSensitive")),
                )
                for c in children(group, "condition")
            ]
        )
    scoping = child(root, "synchronizationCriteria")
    for group in children(scoping, "conditions") if scoping is not None else []:
        rule.scope_groups.append(
            [
                ScopeCondition(child_text(s, "csAttribute"), child_text(s, "csOperator"), child_text(s, "csValue"))
                for s in children(group, "scope")
            ]
        )
    return rule


def _mapping(m: Element) -> RuleMapping:
    dest = child_text(m, "dest")
    out = RuleMapping(destination=dest, merge_type=child_text(m, "valueMergeType") or "Update")
    out.execute_once = truthy(attr(m, "execute-once"))
    src = child(m, "src")
    if src is not None:
        attrs = children(src, "attr")
        if attrs:
            out.sources = [text(a) for a in attrs]
        elif text(src):
            out.constant = text(src)
    expression = child(m, "expression")
    if expression is not None and text(expression):
        out.expression = text(expression)
    if is_secret_attribute(dest):
        if out.constant:
            out.constant = REDACTED
        if out.expression and '"' in out.expression:
            out.expression = REDACTED
    return out
