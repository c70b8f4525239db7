"""A run's throughput as an inline SVG bar chart: no JavaScript, no external files, so it works in the dashboard
and in the self-contained report alike."""

from __future__ import annotations

from html import escape
from typing import Any

ROW = 22
LABEL = 210
WIDTH = 640


def throughput_svg(steps: list[dict[str, Any]]) -> str:
    """One bar per step: objects processed per second (and the count and seconds as text)."""
    rows = []
    for s in steps:
        seconds = max(float(s.get("seconds") or 0.0), 0.001)
        done = int(s.get("processed") or 0)
        rows.append((f"{s['connector']} {s['step']}", done, seconds, done / seconds if done else 0.0))
    if not rows:
        return ""
    top = max(r[3] for r in rows) or 1.0
    bar_space = WIDTH - LABEL - 150
    height = ROW * len(rows) + 28
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-label="objects per second per step">',
        f'<text x="{LABEL}" y="14" class="axis">objects per second</text>',
    ]
    for i, (label, done, seconds, rate) in enumerate(rows):
        y = 22 + i * ROW
        width = 0 if not rate else max(2.0, bar_space * rate / top)
        parts.append(f'<text x="{LABEL - 8}" y="{y + 14}" text-anchor="end" class="label">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" class="bar"/>')
        text = f"{rate:,.0f}/s · {done:,} in {seconds:.2f}s"
        parts.append(f'<text x="{LABEL + width + 6:.1f}" y="{y + 14}" class="value">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)
