"""Loading ``idsync.yaml``: YAML with positions, pydantic validation, cross-references, connector blocks.

Every problem is reported with file, line and column, all of them at once, because fixing a configuration one
error per run is miserable.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from idsync.config.issues import ConfigError, ConfigIssue, Path_, Position
from idsync.config.models import NAME, InboundRule, OutboundRule, SettingError, WorkspaceConfig
from idsync.model.names import closest


@dataclass
class PositionMap:
    """Where each value of the YAML document starts; expressions use it to point into the file."""

    file: str
    positions: dict[Path_, Position] = field(default_factory=dict)
    value_positions: dict[Path_, Position] = field(default_factory=dict)
    """For scalars: the first character of the text itself (after a quote or a block indicator)."""
    duplicates: list[ConfigIssue] = field(default_factory=list)
    """Keys given twice in one mapping: YAML would silently keep the last, so each is a problem."""
    source: str = ""
    scalars: dict[Path_, tuple[int, int, str | None, str]] = field(default_factory=dict)
    """For scalars: where their source text starts and ends in ``source``, their style and their value."""

    def find(self, path: Path_) -> Position | None:
        """The position of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if p in self.positions:
                return self.positions[p]
            if not p:
                return None
            p = p[:-1]

    def value(self, path: Path_) -> Position | None:
        return self.value_positions.get(tuple(path)) or self.find(path)

    def scalar_path(self, path: Path_) -> Path_ | None:
        """``path`` if it is a scalar, or its ``expression`` entry (a flow written as a mapping)."""
        for candidate in (tuple(path), (*path, "expression")):
            if candidate in self.scalars:
                return candidate
        return None

    def within(self, path: Path_, offset: int, text: str | None = None) -> Position | None:
        """The position of character ``offset`` of the value at ``path``: inside a plain, quoted or block scalar,
        across its folded lines. ``text`` is what was made of the value, when it differs (the ``[name]`` a bare
        name stands for). Where the mapping is not exact (an escape such as ``\\t`` before the offset, a text
        that is not the value), the value's start."""
        found = self.scalar_path(path)
        if found is None:
            return self.value(path)
        start, end, style, value = self.scalars[found]
        if text is not None and text != value:
            if text != f"[{value}]":
                return self.value(found)
            offset = max(0, min(offset - 1, len(value) - 1))
        index = _source_index(self.source[start:end], style, value, offset)
        if index is None:
            return self.value(found)
        index += start
        line_start = self.source.rfind("\n", 0, index) + 1
        return Position(self.file, self.source.count("\n", 0, index) + 1, index - line_start + 1)


def _source_index(raw: str, style: str | None, value: str, offset: int) -> int | None:
    """Where in ``raw`` (a scalar's source text) the value's character ``offset`` comes from, or None when that
    cannot be told exactly. The value's characters are matched in order; what the source has between them must
    be what YAML drops: line breaks and indentation folded into a space, a quote doubled, an escaping backslash.
    Anything else (``\\t`` in a double-quoted scalar) means the source spells the value differently there."""
    if not value:
        return 0
    offset = max(0, min(offset, len(value) - 1))
    skippable = " \t\r\n"
    if style == "'":
        skippable += "'"
    elif style == '"':
        skippable += "\\"
    i = 0
    if style in ("'", '"'):
        i = 1
    elif style in ("|", ">"):
        i = raw.find("\n") + 1
    for position, char in enumerate(value[: offset + 1]):
        while i < len(raw) and raw[i] != char:
            if raw[i] not in skippable:
                return None
            i += 1
        if i >= len(raw):
            return None
        if position == offset:
            return i
        i += 1
    return None


def _walk(node: yaml.Node, path: Path_, out: PositionMap) -> None:
    mark = node.start_mark
    out.positions[path] = Position(out.file, mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        out.scalars[path] = (mark.index, node.end_mark.index, node.style, str(node.value))
        line, column = mark.line + 1, mark.column + 1
        if node.style in ("'", '"'):
            column += 1
        elif node.style in ("|", ">"):
            line, column = line + 1, 1
            # block scalars start on the next line, indented; find the indentation in the buffer
            buffer = mark.buffer or ""
            lines = buffer.splitlines()
            if line - 1 < len(lines):
                text = lines[line - 1]
                column = len(text) - len(text.lstrip()) + 1
        out.value_positions[path] = Position(out.file, line, column)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, Position] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            here = Position(out.file, key.start_mark.line + 1, key.start_mark.column + 1)
            if name in seen and name != "<<":
                out.duplicates.append(
                    ConfigIssue(
                        f"{name!r} is given twice in this mapping (first at {seen[name]}); YAML would silently keep "
                        "only the last one: remove one",
                        here,
                        (*path, name),
                    )
                )
            seen.setdefault(name, here)
            out.positions[(*path, name)] = Position(out.file, key.start_mark.line + 1, key.start_mark.column + 1)
            _walk(value, (*path, name), out)
            # keep the key's position as the position of the entry, it reads better in messages
            out.positions[(*path, name)] = Position(out.file, key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


_YAML_HINTS: list[tuple[str, str]] = [
    ("expected <block end>", "this line does not line up with the lines of its block: check its indentation"),
    (
        "mapping values are not allowed here",
        "a ':' where none can be: check the indentation, or quote a value holding ': '",
    ),
    (
        "could not find expected ':'",
        "a line that is not 'key: value': a missing ':', or a value that runs on without the indentation of a block",
    ),
    ("found character '\\t'", "a tab: YAML indents with spaces only"),
    ("that cannot start any token", "a value cannot start with this character: quote the value"),
    ("found unexpected end of stream", "a quote is opened and never closed"),
    ("expected ',' or '}'", "an inline mapping {...} is not closed, or lacks a ',' between its entries"),
    ("expected ',' or ']'", "an inline list [...] is not closed, or lacks a ',' between its items"),
    ("found undefined alias", "an alias (*name) with no anchor (&name) before it"),
    ("found unhashable key", "a key that is a list or mapping: keys are names"),
]


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """A short explanation of PyYAML's complaint, which names parser states (``<block mapping start>``) rather
    than the mistake; its own text only when no explanation fits."""
    problem = str(exc.problem or exc.context or exc).strip()
    for needle, hint in _YAML_HINTS:
        if needle in problem:
            return f"YAML: {hint}"
    return f"YAML: {problem}"


def parse_yaml(text: str, file: str) -> tuple[Any, PositionMap]:
    positions = PositionMap(file, source=text)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(file, mark.line + 1, mark.column + 1) if mark else None
        raise ConfigError([ConfigIssue(_yaml_problem(exc), pos)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(f"YAML: {exc}", Position(file, 1, 1))]) from None
    except (ValueError, TypeError) as exc:  # a tagged value its tag cannot hold: !!int x
        raise ConfigError([ConfigIssue(f"YAML: a value does not fit its tag ({exc})", Position(file, 1, 1))]) from None
    if node is not None:
        _walk(node, (), positions)
    return data, positions


def _settings_at(model: Any, loc: Path_) -> list[str]:
    """The settings the model allows at ``loc`` (the mapping an unknown setting was found in), for a suggestion;
    empty when the path leads through something that is not a model (a connector block's free-form dict)."""
    current: Any = model
    for part in loc:
        current = _inner(current, part)
        if current is None:
            return []
    candidates = [current] if isinstance(current, type) else [a for a in get_args(current) if isinstance(a, type)]
    for candidate in candidates:
        if issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return []


def _inner(annotation: Any, part: str | int) -> Any:
    """The annotation one step below ``annotation``: a model's field, a list's item, a dict's value."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _inner(get_args(annotation)[0], part)
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            found = _inner(arg, part)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = annotation.model_fields.get(str(part))
        return found.annotation if found is not None else None
    if origin is list and isinstance(part, int):
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    return None


def unknown_setting(name: str, known: Sequence[str]) -> str:
    message = f"unknown setting {name!r}"
    close = closest(name, known, cutoff=0.7)
    return f"{message}; did you mean {close!r}?" if close else message


def issues_from_validation(
    error: ValidationError, positions: PositionMap, prefix: Path_ = (), *, model: Any = None
) -> list[ConfigIssue]:
    """Pydantic's errors as configuration issues; ``model`` (the validated class) lets an unknown setting name
    the one it probably meant."""
    issues = []
    for item in error.errors():
        loc: Path_ = tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]")))
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, SettingError):
            loc = (*loc, cause.setting)
        full = (*prefix, *loc)
        message = str(item["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if item["type"] == "extra_forbidden":
            known = _settings_at(model, loc[:-1]) if model is not None and loc else []
            message = unknown_setting(str(loc[-1]), known) if loc else "unknown setting"
        elif item["type"] == "missing":
            message = f"{loc[-1]!r} is required" if loc else message
        issues.append(ConfigIssue(message, positions.find(full), full))
    return issues


@dataclass
class LoadedConfig:
    """A validated workspace configuration with its connector blocks parsed by their own models."""

    path: Path
    workspace: Path
    config: WorkspaceConfig
    connectors: dict[str, BaseModel]
    positions: PositionMap

    def position(self, path: Path_) -> Position | None:
        return self.positions.value(path)


ConnectorModelLookup = Callable[[str], type[BaseModel]]
"""connector type name -> its pydantic config model (raises LookupError for an unknown type)."""


def load_config(path: Path, connector_models: ConnectorModelLookup) -> LoadedConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [ConfigIssue(f"no configuration at {path}; run 'idsync init' or 'idsync quickstart'")]
        ) from None
    return load_config_text(text, str(path), path.parent, connector_models, source=path)


def load_config_text(
    text: str,
    file: str,
    workspace: Path,
    connector_models: ConnectorModelLookup,
    *,
    source: Path | None = None,
) -> LoadedConfig:
    data, positions = parse_yaml(text, file)
    if data is None:
        raise ConfigError(
            [
                ConfigIssue(
                    "empty configuration: the file holds no settings; 'idsync init' writes a commented one to start "
                    "from",
                    Position(file, 1, 1),
                )
            ]
        )
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue("the configuration must be a mapping of settings", Position(file, 1, 1))])
    issues = list(positions.duplicates)
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(issues + issues_from_validation(exc, positions, model=WorkspaceConfig)) from None
    issues += cross_check(config, positions)
    connectors: dict[str, BaseModel] = {}
    for name, block in config.connectors.items():
        if not isinstance(block, dict) or "type" not in block:
            continue
        try:
            model = connector_models(str(block["type"]))
        except LookupError as exc:
            issues.append(
                ConfigIssue(
                    str(exc.args[0] if exc.args else exc),
                    positions.find(("connectors", name, "type")),
                    ("connectors", name),
                )
            )
            continue
        try:
            connectors[name] = model.model_validate(block)
        except ValidationError as exc:
            issues.extend(issues_from_validation(exc, positions, ("connectors", name), model=model))
    if issues:
        raise ConfigError(issues)
    return LoadedConfig(source or Path(file), workspace, config, connectors, positions)


def cross_check(config: WorkspaceConfig, positions: PositionMap) -> list[ConfigIssue]:
    """References between sections: connectors, metaverse types and attributes, rule names, profiles."""
    issues: list[ConfigIssue] = []

    def add(message: str, *path: str | int) -> None:
        issues.append(ConfigIssue(message, positions.find(path), path))

    for name, block in config.connectors.items():
        if not re.match(NAME, name):
            add(f"connector name {name!r}: use letters, digits, '_', '.', '-'", "connectors", name)
        if not isinstance(block, dict) or "type" not in block:
            add("'type' is required (csv, ldap, ad, graph, ...)", "connectors", name)
    seen: dict[str, str] = {}
    both: list[tuple[str, Sequence[InboundRule | OutboundRule]]] = [
        ("inbound", config.inbound),
        ("outbound", config.outbound),
    ]
    for kind, rules in both:
        for index, rule in enumerate(rules):
            if rule.name in seen:
                add(f"rule name {rule.name!r} is already used by an {seen[rule.name]} rule", kind, index, "name")
            seen[rule.name] = kind
            if rule.connector not in config.connectors:
                known = ", ".join(sorted(config.connectors)) or "none defined"
                add(f"unknown connector {rule.connector!r} (known: {known})", kind, index, "connector")
            if rule.metaverse_type not in config.metaverse:
                known = ", ".join(sorted(config.metaverse)) or "none defined"
                add(f"unknown metaverse type {rule.metaverse_type!r} (known: {known})", kind, index, "metaverse_type")
    for index, rule in enumerate(config.inbound):
        mv = config.metaverse.get(rule.metaverse_type)
        if mv is None:
            continue
        for attr in rule.flows:
            if attr not in mv.attributes:
                add(
                    f"flow target {attr!r} is not an attribute of metaverse type {rule.metaverse_type!r}",
                    "inbound",
                    index,
                    "flows",
                    attr,
                )
        for j, join in enumerate(rule.join):
            for attr in join:
                if attr not in mv.attributes:
                    add(
                        f"join attribute {attr!r} is not an attribute of metaverse type {rule.metaverse_type!r}",
                        "inbound",
                        index,
                        "join",
                        j,
                        attr,
                    )
    for mv_name, mv in config.metaverse.items():
        for connector in mv.deletion.authoritative:
            if connector not in config.connectors:
                add(f"unknown authoritative connector {connector!r}", "metaverse", mv_name, "deletion")
    for profile, steps in config.profiles.items():
        for index, step in enumerate(steps):
            if step.connector not in config.connectors:
                add(f"unknown connector {step.connector!r}", "profiles", profile, index)
    return issues
