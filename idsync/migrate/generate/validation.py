"""The generated configuration must pass ``idsync validate``. It is checked here with the same loader, rule
compiler and offline connector schemas (a Graph connector's published properties, a CSV file's header once the
file exists) as ``idsync validate`` uses on the written workspace, whose ``data/`` folder starts empty; a rule part
that still fails (an expression the pre-checks let through, a flow into an attribute the metaverse lacks, an
attribute the connector does not import) is taken out, listed with the validator's own message, and the file
checked again. A scope that fails is never dropped on its own (the rule would then apply to every object): the
rule is disabled, scope and all, and listed. What cannot be settled that way — a connector block — is reported as
a problem, never hidden."""

from __future__ import annotations

from typing import Any

from idsync.config import CONFIG_FILE, ConfigError, ConfigIssue, load_config_text
from idsync.migrate.generate.draft import Draft
from idsync.migrate.generate.model import GeneratedWorkspace, LeftOutKind
from idsync.migrate.model import Location

MAX_ROUNDS = 6


def check(text: str) -> list[ConfigIssue]:
    """The problems ``idsync validate`` would report for ``text`` (empty when it is valid)."""
    import tempfile
    from pathlib import Path

    from idsync.connectors.registry import ConnectorRegistry
    from idsync.engine.rules import compile_rules
    from idsync.engine.workspace import connector_model_lookup, known_schemas

    registry = ConnectorRegistry()
    with tempfile.TemporaryDirectory(prefix="idsync-generate-") as folder:
        # the workspace as written: idsync.yaml and an empty data/ folder (file sources are not there yet)
        root = Path(folder)
        (root / "data").mkdir()
        try:
            loaded = load_config_text(text, CONFIG_FILE, root, connector_model_lookup(registry))
            compile_rules(loaded, known=known_schemas(root, loaded, registry))
        except ConfigError as exc:
            return list(exc.issues)
    return []


def settle(result: GeneratedWorkspace, draft: Draft) -> None:
    from idsync.migrate.generate.emit import yaml_text

    for _ in range(MAX_ROUNDS):
        issues = check(yaml_text(result))
        if not issues:
            result.problems = []
            return
        fixed = False
        removals: list[tuple[int, str, tuple[str | int, ...], ConfigIssue]] = []
        for issue in issues:
            path = issue.path
            if len(path) >= 3 and path[0] in ("inbound", "outbound") and isinstance(path[1], int):
                removals.append((path[1], str(path[0]), tuple(path[2:]), issue))
        for index, section, rest, issue in removals:
            rules: list[dict[str, Any]] = result.config[section]
            if index >= len(rules):
                continue
            fixed = _remove(draft, rules[index], section, rest, issue) or fixed
        for section in ("inbound", "outbound"):
            kept = []
            for rule in result.config[section]:
                if rule.get("_drop"):
                    continue
                if "join" in rule:
                    rule["join"] = [j for j in rule["join"] if j is not None]
                    if not rule["join"]:
                        del rule["join"]
                kept.append(rule)
            result.config[section] = kept
        if not fixed:
            result.problems = [str(i) for i in issues]
            return
    result.problems = [str(i) for i in check(yaml_text(result))]


def _remove(draft: Draft, rule: dict[str, Any], section: str, rest: tuple[str | int, ...], issue: ConfigIssue) -> bool:
    """Take the failing part out of ``rule``; False when the issue is not about a part that can go."""
    part = str(rest[0])
    where = Location(CONFIG_FILE, f"{section}/{rule.get('name', '?')}/{'/'.join(str(r) for r in rest)}")
    agent = str(rule.get("description", "")) or str(rule.get("connector", ""))

    def listed(attribute: str, detail: str) -> None:
        draft.leave_out(
            agent,
            f"{section} {part}",
            str(rule.get("object_type", "")),
            attribute,
            detail,
            f"does not validate: {issue.message}",
            LeftOutKind.TRANSLATION,
            where,
        )

    if part in ("flows", "deprovision_flows") and len(rest) >= 2:
        flows = rule.get(part, {})
        attr = str(rest[1])
        if attr in flows:
            listed(attr, str(flows.pop(attr)))
            return True
        return False
    if part == "scope" and "scope" in rule:
        if rule.get("enabled", True) is False:
            return False
        # dropping the scope would widen the rule to every object: the rule is disabled, its scope kept
        rule["enabled"] = False
        listed("", f"{rule['scope']} (the rule is disabled: enable it once its scope validates)")
        return True
    if part == "join" and len(rest) >= 2 and isinstance(rest[1], int):
        joins = rule.get("join", [])
        if rest[1] < len(joins) and joins[rest[1]] is not None:
            listed(", ".join(joins[rest[1]]), str(joins[rest[1]]))
            joins[rest[1]] = None
            return True
        return False
    if part == "identifier" and "identifier" in rule:
        listed("identifier", str(rule.pop("identifier")))
        rule.pop("provision", None)
        return True
    if part in ("connector", "metaverse_type", "name"):
        listed("", str(rule.get(part)))
        rule["_drop"] = True
        return True
    return False
