"""The topology drawn as agents -> metaverse -> agents: an inline SVG for HTML (no script, no network) and the
same graph as Mermaid text for Markdown viewers that render it."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from idsync.migrate.topology import AgentKind, AgentRole, Topology

_BOX_W = 250
_BOX_H = 46
_GAP = 18
_MARGIN = 20
_MV_W = 150


@dataclass(frozen=True, slots=True)
class _Node:
    role: AgentRole
    x: int
    y: int


def _label(role: AgentRole, dead: bool, connect_server: bool) -> tuple[str, str]:
    """``dead``: the retired FIM Connector for Azure AD (drawn in red); Connect's own is drawn as it is."""
    kind = "retired Azure AD connector" if dead else role.kind.value
    if role.kind is AgentKind.AAD_CONNECTOR and connect_server:
        kind = "Connect's Azure AD connector"
    if role.kind is AgentKind.AD and role.ma.forest_name:
        kind = f"AD forest {role.ma.forest_name}"
    name = role.name if len(role.name) <= 34 else role.name[:33] + "…"
    return name, kind


def _retired(topo: Topology) -> set[int]:
    """The agents to mark as retired: the FIM Connector for Azure AD, never an Azure AD Connect server's own."""
    return set() if topo.connect_server else {id(d.ma) for d in topo.dead_connectors}


def topology_svg(topo: Topology) -> str:
    dead_ids = _retired(topo)
    sources = [a for a in topo.agents if not a.writes]
    targets = [a for a in topo.agents if a.writes]
    rows = max(len(sources), len(targets), 1)
    height = _MARGIN * 2 + rows * (_BOX_H + _GAP) - _GAP + 40
    width = _MARGIN * 2 + _BOX_W * 2 + _MV_W + 2 * 110
    left_x = _MARGIN
    mv_x = left_x + _BOX_W + 110
    right_x = mv_x + _MV_W + 110
    mv_y = _MARGIN + 20
    mv_h = height - mv_y - _MARGIN - 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="Topology: management agents, metaverse, targets" '
        'font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        f'<text x="{left_x}" y="{_MARGIN}" font-weight="bold">Sources</text>',
        f'<text x="{right_x}" y="{_MARGIN}" font-weight="bold">Written to</text>',
        f'<rect x="{mv_x}" y="{mv_y}" width="{_MV_W}" height="{mv_h}" rx="12" fill="#eef3fb" stroke="#4a6fa5"/>',
        f'<text x="{mv_x + _MV_W // 2}" y="{mv_y + mv_h // 2}" text-anchor="middle" '
        'font-weight="bold">metaverse</text>',
    ]
    nodes = [_Node(r, left_x, mv_y + i * (_BOX_H + _GAP)) for i, r in enumerate(sources)]
    nodes += [_Node(r, right_x, mv_y + i * (_BOX_H + _GAP)) for i, r in enumerate(targets)]
    for node in nodes:
        dead = id(node.role.ma) in dead_ids
        fill, stroke = ("#fde2e2", "#c0392b") if dead else ("#ffffff", "#555555")
        if not node.role.reads and not node.role.writes:
            fill, stroke = "#f2f2f2", "#aaaaaa"
        name, kind = _label(node.role, dead, topo.connect_server)
        parts.append(
            f'<rect x="{node.x}" y="{node.y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{2 if dead else 1}"/>'
        )
        parts.append(f'<text x="{node.x + 10}" y="{node.y + 19}" font-weight="bold">{escape(name)}</text>')
        parts.append(f'<text x="{node.x + 10}" y="{node.y + 36}" fill="#444">{escape(kind)}</text>')
        cy = node.y + _BOX_H // 2
        if node.x == left_x and node.role.reads:
            parts.append(_line(node.x + _BOX_W, cy, mv_x, cy, dashed=False))
        if node.x == right_x:
            parts.append(_line(mv_x + _MV_W, cy - 6, node.x, cy - 6, dashed=False))
            if node.role.reads:
                parts.append(_line(node.x, cy + 8, mv_x + _MV_W, cy + 8, dashed=True))
    legend = "; red: the retired FIM Connector for Azure AD" if dead_ids else ""
    parts.append(
        f'<text x="{left_x}" y="{height - 8}" fill="#444">solid arrow: attribute flow; dashed: flows back into the '
        f"metaverse from an agent that is also written to{legend}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _line(x1: int, y1: int, x2: int, y2: int, dashed: bool) -> str:
    dash = ' stroke-dasharray="5,4"' if dashed else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" stroke-width="1.5"{dash} '
        'marker-end="url(#arrow)"/>'
    )


def topology_mermaid(topo: Topology) -> str:
    dead_ids = _retired(topo)
    lines = ["flowchart LR", '  MV(("metaverse"))']
    dead_nodes = []
    for n, role in enumerate(topo.agents, 1):
        node = f"a{n}"
        name, kind = _label(role, id(role.ma) in dead_ids, topo.connect_server)
        label = f"{name}<br/>{kind}".replace('"', "#quot;")
        lines.append(f'  {node}["{label}"]')
        if role.reads:
            lines.append(f"  {node} --> MV")
        if role.writes:
            lines.append(f"  MV --> {node}")
        if id(role.ma) in dead_ids:
            dead_nodes.append(node)
    if dead_nodes:
        lines.append("  classDef retired fill:#fde2e2,stroke:#c0392b,stroke-width:2px")
        lines.append(f"  class {','.join(dead_nodes)} retired")
    return "\n".join(lines)
