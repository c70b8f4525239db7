from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from idsync.cli.migrate import migrate

from .conftest import EXPORTS


def test_analyze_json_and_reports(tmp_path: Path) -> None:
    html_out, md_out = tmp_path / "r.html", tmp_path / "r.md"
    result = CliRunner().invoke(
        migrate,
        ["analyze", str(EXPORTS / "ad-forest-aad"), "--json", "--report", str(html_out), "--markdown", str(md_out)],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["recommendation"]["path"] == "cloud-sync"
    assert doc["dead_connectors"][0]["name"] == "Azure AD"
    assert doc["topology"]["ad_forests"] == {"corp.contoso.com": ["CORP"]}
    assert {r["rule"] for r in doc["recommendation"]["reasons"]} <= set(doc["rules"])
    assert doc["rules"]["R4"]["sources"][0]["url"].startswith("https://learn.microsoft.com/")
    html = html_out.read_text()
    assert "<svg" in html and "metaverse" in html
    assert not re.search(r"<script|<link|src=\"http|@import|url\(http", html)
    assert "Azure AD" in html and "onPremisesImmutableId" in html
    md = md_out.read_text()
    assert "```mermaid" in md and "## Mapping to Microsoft Graph" in md
    for text in (result.output, html, md):
        assert "Chang3Me" not in text


def test_analyze_escapes_names(tmp_path: Path) -> None:
    src = (EXPORTS / "hr-sql-aad").iterdir()
    dest = tmp_path / "x"
    dest.mkdir()
    for p in src:
        (dest / p.name).write_bytes(p.read_bytes())
    ma = dest / "MA-HR.XML"
    ma.write_text(ma.read_text().replace("<name>HR</name>", "<name>HR &lt;script&gt;alert(1)&lt;/script&gt;</name>"))
    html_out = tmp_path / "r.html"
    result = CliRunner().invoke(migrate, ["analyze", str(dest), "--report", str(html_out)])
    assert result.exit_code == 0, result.output
    html = html_out.read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_analyze_exit_codes(tmp_path: Path) -> None:
    missing = CliRunner().invoke(migrate, ["analyze", str(tmp_path / "nothing")])
    assert missing.exit_code == 4
    (tmp_path / "MA-Bad.XML").write_text("<saved-ma-configuration><ma-data><id>{1}</id><name>Bad</name>")
    damaged = CliRunner().invoke(migrate, ["analyze", str(tmp_path)])
    assert damaged.exit_code == 1
    assert "MA-Bad.XML" in damaged.output and "truncated" in damaged.output


def test_generate_warns_when_the_chosen_path_is_ruled_out(contoso: Path, tmp_path: Path) -> None:
    out = tmp_path / "ws"
    result = CliRunner().invoke(migrate, ["generate", str(contoso), "--path", "cloud-sync", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: The analysis marks cloud-sync as not viable" in result.output
    assert "CS-DEVICES: the Azure AD connector receives device objects" in result.output
    readme = (out / "README.md").read_text()
    assert "## Warning: the analysis rules this path out" in readme
    assert "- **CS-DEVICES**: the Azure AD connector receives device objects" in readme
    doc = json.loads(
        CliRunner()
        .invoke(migrate, ["generate", str(contoso), "--path", "cloud-sync", "--out", str(out), "--force", "--json"])
        .output
    )
    assert [r["rule"] for r in doc["ruled_out"]] == ["CS-DEVICES"]


def test_generate_on_the_recommended_path_has_no_warning(contoso: Path, tmp_path: Path) -> None:
    out = tmp_path / "ws"
    result = CliRunner().invoke(migrate, ["generate", str(contoso), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output
    assert "rules this path out" not in (out / "README.md").read_text()
