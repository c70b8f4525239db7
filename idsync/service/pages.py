"""Rendering HTML: the Jinja2 environment shared by the dashboard and the self-contained run report.

Autoescaping is on for every template: object values come from connected systems and are shown as text, never
as markup.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from idsync.service.charts import throughput_svg


def when(ts: float | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def values(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("idsync.service", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["values"] = values
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str)
    # the chart escapes every label itself
    env.globals["throughput_svg"] = lambda steps: Markup(throughput_svg(steps))  # noqa: S704
    return env


def static_text(name: str) -> str:
    return (resources.files("idsync.service") / "static" / name).read_text(encoding="utf-8")
