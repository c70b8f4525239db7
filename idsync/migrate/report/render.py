"""Markdown and self-contained HTML from one :class:`Document`.

The HTML page carries its style and its SVG inline and loads nothing: it is read on the machines of the people
planning a cutover, often offline, and must show the same thing everywhere. Every text is escaped.
"""

from __future__ import annotations

import html
import re

from idsync.migrate.report.document import Block, Bullets, Diagram, Document, Heading, Paragraph, Table

_URL = re.compile(r"(?P<key>[A-Z0-9-]+): (?P<url>https://\S+)")


def _md_cell(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip() or " "


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        out.extend(_md_block(block))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + block.text]
    if isinstance(block, Paragraph):
        return [f"**{block.text}**" if block.strong else block.text]
    if isinstance(block, Bullets):
        return [f"{n}. {item}" if block.ordered else f"- {item}" for n, item in enumerate(block.items, 1)]
    if isinstance(block, Table):
        lines = ["| " + " | ".join(_md_cell(h) for h in block.headers) + " |"]
        lines.append("|" + "---|" * len(block.headers))
        lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
        return lines
    assert isinstance(block, Diagram)
    return ["```mermaid", block.mermaid, "```"]


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;max-width:1400px;color:#222}
h1{font-size:1.5rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.strong{font-weight:bold;font-size:1.1rem}.diagram{overflow-x:auto}
"""


def _inline(value: str) -> str:
    """Escape a cell, then turn "KEY: https://..." citations into links (the only markup added)."""
    escaped = html.escape(value)
    return _URL.sub(lambda m: f'<a href="{m.group("url")}">{m.group("key")}</a>', escaped)


def to_html(doc: Document) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(doc.title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(doc.title)}</h1>",
    ]
    for block in doc.blocks:
        out.append(_html_block(block))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        cls = ' class="strong"' if block.strong else ""
        return f"<p{cls}>{html.escape(block.text)}</p>"
    if isinstance(block, Bullets):
        tag = "ol" if block.ordered else "ul"
        return f"<{tag}>" + "".join(f"<li>{html.escape(i)}</li>" for i in block.items) + f"</{tag}>"
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    assert isinstance(block, Diagram)
    return f'<div class="diagram">{block.svg}</div>'
