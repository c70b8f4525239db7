"""Attribute mappings as the Synchronization Service writes them: direct, constant, dn-part, scripted and
sync-rule mappings with their ``<fn>`` value trees. Shared by export flows, import flows and join criteria.

Constants that flow into a password attribute (an initial ``unicodePwd`` in a sync rule is common) are replaced
by a marker here, at the edge, so no report, JSON document or log can ever carry them.
"""

from __future__ import annotations

import re

from idsync.migrate.model import (
    AttributeArg,
    ConstantMapping,
    DirectMapping,
    DnPartMapping,
    FnArg,
    FnCall,
    LiteralArg,
    Mapping,
    ScriptedMapping,
    SyncRuleMapping,
)
from idsync.migrate.reader.xmlsource import Element, attr, child, children, descendants, local, text, truthy

REDACTED = "<redacted>"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MAPPING_TAGS = frozenset(
    {"direct-mapping", "constant-mapping", "dn-part-mapping", "scripted-mapping", "sync-rule-mapping"}
)


def is_secret_attribute(name: str) -> bool:
    n = name.lower()
    return "password" in n or n in {"unicodepwd", "userpassword", "pwd"}


def find_mapping(elem: Element) -> Element | None:
    """The mapping child of a flow element (export-flow, import-flow, attribute-mapping)."""
    for c in elem:
        if local(c.tag) in _MAPPING_TAGS:
            return c
    return None


def parse_mapping(elem: Element, destination: str) -> Mapping:
    """One mapping element; ``destination`` is the attribute it flows into (used to redact password constants)."""
    tag = local(elem.tag)
    secret = is_secret_attribute(destination)
    if tag == "direct-mapping":
        src = child(elem, "src-attribute")
        return DirectMapping(text(src), truthy(attr(src, "intrinsic")) if src is not None else False)
    if tag == "constant-mapping":
        value = text(child(elem, "constant-value"))
        return ConstantMapping(REDACTED if secret and value else value)
    if tag == "dn-part-mapping":
        raw = text(child(elem, "dn-part"))
        if not raw.removeprefix("-").isdecimal():
            raise ValueError(f"dn-part is {raw!r}, not a number")
        return DnPartMapping(int(raw))
    if tag == "scripted-mapping":
        return ScriptedMapping([text(s) for s in children(elem, "src-attribute")], text(child(elem, "script-context")))
    if tag == "sync-rule-mapping":
        return _sync_rule_mapping(elem, secret)
    raise ValueError(f"unknown mapping element <{tag}>")


def _sync_rule_mapping(elem: Element, secret: bool) -> SyncRuleMapping:
    mapping = SyncRuleMapping(
        mapping_type=attr(elem, "mapping-type", "direct"),
        sync_rule_id=attr(elem, "sync-rule-id"),
        sources=[text(s) for s in children(elem, "src-attribute")],
        initial_flow_only=truthy(attr(elem, "initial-flow-only")),
        is_existence_test=truthy(attr(elem, "is-existence-test")),
    )
    value = child(elem, "sync-rule-value")
    if value is None:
        return mapping
    flow = next(iter(value), None)
    if flow is not None:
        mapping.allows_null = truthy(attr(flow, "allows-null"))
        fn = child(flow, "fn")
        if fn is not None:
            mapping.expression = parse_fn(fn, secret)
        src = child(flow, "src")
        if not mapping.sources and src is not None:
            mapping.sources = [text(a) for a in children(src, "attr")]
        if mapping.expression is None and src is not None and not children(src, "attr") and text(src):
            mapping.constant = text(src)
    constants = descendants(value, "constant-value")
    if mapping.constant is None and constants:
        mapping.constant = text(constants[0])
    if secret and mapping.constant:
        mapping.constant = REDACTED
    return mapping


def parse_fn(elem: Element, secret: bool = False) -> FnCall:
    """A ``<fn id=... isCustomExpression=...>`` tree. Literal arguments of a password flow are redacted."""
    call = FnCall(attr(elem, "id"), custom=truthy(attr(elem, "isCustomExpression")))
    for arg in children(elem, "arg"):
        call.args.append(_parse_arg(arg, secret))
    return call


def _parse_arg(arg: Element, secret: bool) -> FnArg:
    nested = child(arg, "fn")
    if nested is not None:
        return parse_fn(nested, secret)
    raw = (arg.text or "").strip()
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return LiteralArg(REDACTED if secret else raw[1:-1], quoted=True)
    if not raw:
        return LiteralArg("", quoted=True)
    if _NUMBER.match(raw):
        return LiteralArg(REDACTED if secret else raw, quoted=False)
    return AttributeArg(raw)
