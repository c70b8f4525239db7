"""Reading customer-supplied XML safely and in bounded memory.

Exports come from customers, so a file may carry a DOCTYPE with entity definitions (the "billion laughs" and
external-entity attacks). Synchronization Service exports never have a DTD, so any DTD is refused outright: it can
only stand in the prolog, before the root element, and without one no entity other than the five predefined ones
can exist. The prolog is checked with expat's own DOCTYPE/ENTITY handlers (stdlib, no extra dependency) and the body
is then read with the C-accelerated ``iterparse``, which keeps a 50 MB export to a couple of seconds; a pure-Python
guarded parser (defusedxml) would cost about half as much again for no added protection once the DTD is refused.

The body is streamed: a section is handed to its handler when it ends and cleared right after, so memory stays
proportional to the largest section (one DSML class, one export-flow-set), not to the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from idsync.migrate.model import Issue, Location, Severity

Element = ET.Element
SectionHandler = Callable[[Element, str], None]
"""Called with a finished section element and its element path ("ma-data/join")."""


class UnsafeXmlError(ValueError):
    """The file declares a DTD or entities: refused, never expanded."""


class _PrologDone(Exception):
    pass


def check_prolog(path: Path) -> None:
    """Refuse a file whose prolog declares a DOCTYPE or an entity. Well-formedness is left to the real parse."""

    def on_start(name: str, attrs: object) -> None:
        raise _PrologDone

    def on_doctype(name: str, *_: object) -> None:
        raise UnsafeXmlError(f"declares a DOCTYPE ({name}); configuration exports have none and DTDs are refused")

    def on_entity(name: str, *_: object) -> None:
        raise UnsafeXmlError(f"declares the entity {name!r}; entity declarations are refused")

    parser = expat.ParserCreate()
    parser.StartElementHandler = on_start
    parser.StartDoctypeDeclHandler = on_doctype
    parser.EntityDeclHandler = on_entity
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(65536)
            try:
                parser.Parse(chunk, not chunk)
            except _PrologDone:
                return
            except expat.ExpatError:
                return  # not well-formed: the main parse reports it with its position
            if not chunk:
                return


def local(tag: str) -> str:
    """The element or attribute name without its namespace (DSML appears both prefixed and as default namespace)."""
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


def attr(elem: Element, name: str, default: str = "") -> str:
    """An attribute by local name, whatever namespace prefix the export used."""
    value = elem.get(name)
    if value is not None:
        return value
    suffix = "}" + name
    for key, val in elem.attrib.items():
        if key.endswith(suffix):
            return val
    return default


def text(elem: Element | None) -> str:
    if elem is None or elem.text is None:
        return ""
    return elem.text.strip()


def child(elem: Element, name: str) -> Element | None:
    """The first child of that local name. MIM's own elements carry no namespace, so the C-level ``find`` answers;
    only inside a DSML schema (namespaced elements) are the children compared by local name."""
    found = elem.find(name)
    if found is not None or elem.tag[:1] != "{":
        return found
    suffix = "}" + name
    return next((c for c in elem if c.tag.endswith(suffix)), None)


def children(elem: Element, name: str) -> list[Element]:
    if elem.tag[:1] != "{":
        return elem.findall(name)
    suffix = "}" + name
    return [c for c in elem if c.tag == name or c.tag.endswith(suffix)]


def child_text(elem: Element, name: str) -> str:
    return text(child(elem, name))


def descendants(elem: Element, name: str) -> list[Element]:
    return [e for e in elem.iter() if local(e.tag) == name]


_TRUTH = {"1": True, "-1": True, "true": True, "True": True, "0": False, "false": False, "False": False, "": False}


def truthy(value: str) -> bool:
    known = _TRUTH.get(value)
    if known is not None:
        return known
    return value.strip().lower() in {"1", "-1", "true", "yes"}


@dataclass(slots=True)
class StreamResult:
    root_tag: str = ""
    root_attrs: dict[str, str] = field(default_factory=dict)
    complete: bool = False
    """False when the file ended early or was not XML: what was handled before that point is still valid."""


def _parse_error_issue(rel: str, element: str, err: ET.ParseError) -> Issue:
    line, column = getattr(err, "position", (0, 0))
    reason = str(err).split(":")[0]
    if line <= 1 and column == 0 and not element:
        message = f"not an XML file ({reason})"
    elif "no element found" in reason or "unclosed token" in reason:
        message = (
            f"the file ends early at line {line}, column {column} ({reason}): it is truncated; "
            "the sections before this point are reported"
        )
    else:
        message = (
            f"not well-formed XML at line {line}, column {column} ({reason}); "
            "the sections before this point are reported"
        )
    return Issue(Severity.ERROR, Location(rel, element), message)


def stream_sections(
    path: Path,
    rel: str,
    handlers: Mapping[str, Mapping[tuple[str, ...], SectionHandler]],
    issues: list[Issue],
) -> StreamResult:
    """Walk ``path`` and call the handler registered for each finished section.

    ``handlers`` maps a data-root tag (``ma-data``, ``mv-data``) to a table keyed by the path of a section below
    that root. A handler that fails leaves an error naming the element and the walk goes on; a file that is cut
    short or not XML leaves an error with the line and column, and everything handled before it stands.
    """
    result = StreamResult()
    try:
        check_prolog(path)
    except UnsafeXmlError as exc:
        issues.append(Issue(Severity.ERROR, Location(rel, ""), f"refused: the file {exc}"))
        return result
    stack: list[str] = []
    root_index = -1
    table: Mapping[tuple[str, ...], SectionHandler] = {}
    prefixes: set[tuple[str, ...]] = set()
    # Inside a section (handled or skipped) only a depth counter moves: most events are deep inside sections,
    # and this keeps their cost to a couple of integer operations.
    inside = 0
    section: SectionHandler | None = None
    try:
        # S314: the prolog check above refused any DTD, so no entity can be declared or expanded.
        for event, elem in ET.iterparse(path, events=("start", "end")):  # noqa: S314
            if inside:
                if event == "start":
                    inside += 1
                    continue
                inside -= 1
                if inside:
                    continue
                if section is not None:
                    where = "/".join(stack)
                    try:
                        section(elem, where)
                    except (ValueError, KeyError, AttributeError, TypeError) as exc:
                        issues.append(
                            Issue(Severity.ERROR, Location(rel, where), f"could not read this element: {exc}")
                        )
                elem.clear()
                stack.pop()
                continue
            if event == "start":
                tag = elem.tag
                if tag[0] == "{":
                    tag = tag.rsplit("}", 1)[1]
                stack.append(tag)
                if root_index >= 0:
                    key = tuple(stack[root_index + 1 :])
                    found = table.get(key)
                    if found is not None or key not in prefixes:
                        section, inside = found, 1
                elif tag in handlers:
                    root_index = len(stack) - 1
                    table = handlers[tag]
                    prefixes = {k[:n] for k in table for n in range(1, len(k))}
                if len(stack) == 1:
                    result.root_tag = tag
                    result.root_attrs = {local(k): v for k, v in elem.attrib.items()}
                continue
            if root_index == len(stack) - 1:
                root_index = -1
            stack.pop()
    except ET.ParseError as err:
        issues.append(_parse_error_issue(rel, "/".join(stack), err))
        return result
    except OSError as err:
        issues.append(Issue(Severity.ERROR, Location(rel, ""), f"cannot read the file: {err.strerror or err}"))
        return result
    result.complete = True
    return result


def parse_whole(path: Path, rel: str, issues: list[Issue]) -> Element | None:
    """Parse a small file (one Connect synchronization rule) into a tree, with the same DTD refusal."""
    try:
        check_prolog(path)
        return ET.parse(path).getroot()  # noqa: S314 - DTDs refused by check_prolog
    except UnsafeXmlError as exc:
        issues.append(Issue(Severity.ERROR, Location(rel, ""), f"refused: the file {exc}"))
    except ET.ParseError as err:
        issues.append(_parse_error_issue(rel, "", err))
    except OSError as err:
        issues.append(Issue(Severity.ERROR, Location(rel, ""), f"cannot read the file: {err.strerror or err}"))
    return None


def sniff_root(path: Path) -> str:
    """The local name of the root element, reading no further than its start tag; empty when not XML or refused."""
    found: list[str] = []

    def on_start(name: str, attrs: object) -> None:
        found.append(local(name.replace(" ", "}")) if " " in name else name)
        raise _PrologDone

    def refuse(*_: object) -> None:
        raise UnsafeXmlError("DTD")

    parser = expat.ParserCreate()
    parser.StartElementHandler = on_start
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        with path.open("rb") as fh:
            while not found:
                chunk = fh.read(16384)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    break
    except (_PrologDone, UnsafeXmlError, expat.ExpatError, OSError):
        pass
    return local(found[0]) if found else ""
