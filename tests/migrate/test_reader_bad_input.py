"""Damaged, hostile or incomplete exports: a clear message naming the file and element, and everything that could
be read is still there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idsync.migrate.analysis import analyze_export
from idsync.migrate.model import ServerExport, Severity
from idsync.migrate.reader import ExportNotFoundError, read_export

from .conftest import EXPORTS, single_export_ma


def _errors(export: ServerExport) -> list[str]:
    return [str(i) for i in export.issues if i.severity is Severity.ERROR]


def test_truncated_file_keeps_the_sections_before_the_cut(mimdsc_copy: Path) -> None:
    path = mimdsc_copy / "MA-TinyHR.XML"
    raw = path.read_bytes()
    cut = raw.index(b"<export-attribute-flow>") + 300
    path.write_bytes(raw[:cut])
    export = read_export(mimdsc_copy)
    (error,) = [i for i in export.issues if i.severity is Severity.ERROR]
    assert error.location.file == "MA-TinyHR.XML"
    assert "truncated" in error.message and "line" in error.message
    assert "ma-data/export-attribute-flow" in error.location.element
    tiny = next(ma for ma in export.management_agents if ma.name == "TinyHR")
    assert tiny.category == "Delimited"
    assert len(tiny.join_profiles[0].criteria) == 3
    assert len(tiny.projection) == 2
    assert tiny.partitions == []  # after the cut
    assert {ma.name for ma in export.management_agents} == {"TinyHR", "GrandHR", "Litware"}


def test_non_xml_file_is_reported_and_the_rest_read(mimdsc_copy: Path) -> None:
    (mimdsc_copy / "MA-Broken.XML").write_text("this is a spreadsheet, not an export\n", encoding="utf-8")
    export = read_export(mimdsc_copy)
    (error,) = _errors(export)
    assert error.startswith("error: MA-Broken.XML") and "not an XML file" in error
    assert len(export.management_agents) == 3
    assert export.metaverse is not None and len(export.metaverse.import_flows) == 14


def test_unknown_format_version_warns_and_reads_on(mimdsc_copy: Path) -> None:
    path = mimdsc_copy / "MV.XML"
    path.write_text(
        path.read_text().replace("<format-version>1</format-version>", "<format-version>7</format-version>")
    )
    export = read_export(mimdsc_copy)
    warning = next(i for i in export.issues if "format-version" in i.message)
    assert warning.severity is Severity.WARNING
    assert (warning.location.file, warning.location.element) == ("MV.XML", "mv-data/format-version")
    assert "7" in warning.message
    assert export.metaverse is not None and len(export.metaverse.import_flows) == 14


def test_missing_mv_file(mimdsc_copy: Path) -> None:
    (mimdsc_copy / "MV.XML").unlink()
    export = read_export(mimdsc_copy)
    (error,) = [i for i in export.issues if i.severity is Severity.ERROR]
    assert error.location.file == "MV.XML" and "missing" in error.message
    assert len(export.management_agents) == 3
    analysis = analyze_export(export)
    assert analysis.recommendation.path.value == "none"


def test_dangling_import_flow_source(tmp_path: Path) -> None:
    src = EXPORTS / "hr-sql-aad"
    dest = tmp_path / "x"
    shutil.copytree(src, dest)
    mv = dest / "MV.XML"
    text = mv.read_text()
    flow_id = "{C6A3F8D1-0E52-4B97-8A4C-F2B7E9D5A031}"
    line = next(ln for ln in text.splitlines() if flow_id in ln)
    mv.write_text(
        text.replace(
            line, line.replace("{3F2B8C11-6A4D-4E0B-9C7E-2D51A8B0E6F4}", "{00000000-1111-2222-3333-444444444444}")
        )
    )
    export = read_export(dest)
    (warning,) = export.issues
    assert warning.location.file == "MV.XML"
    assert flow_id in warning.location.element and 'mv-attribute="employeeStatus"' in warning.location.element
    assert "{00000000-1111-2222-3333-444444444444}" in warning.message
    assert export.metaverse is not None
    flow = next(f for f in export.metaverse.import_flows if f.id == flow_id)
    assert flow.ma_name is None
    assert sum(f.ma_name == "HR" for f in export.metaverse.import_flows) == 12


def test_dtd_and_entity_expansion_are_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>\n<saved-ma-configuration><ma-data><name>&lol3;</name>'
        "</ma-data></saved-ma-configuration>\n"
    )
    (tmp_path / "MA-Bomb.XML").write_text(bomb)
    external = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        "<saved-mv-configuration><mv-data><version>&secret;</version></mv-data></saved-mv-configuration>\n"
    )
    (tmp_path / "MV.XML").write_text(external)
    export = read_export(tmp_path)
    refused = [i for i in export.issues if "refused" in i.message]
    assert {i.location.file for i in refused} == {"MA-Bomb.XML", "MV.XML"}
    assert all("DOCTYPE" in i.message for i in refused)
    assert export.management_agents == []
    assert export.metaverse is None or export.metaverse.version == ""


def test_utf16_export_with_bom_is_read(mimdsc_copy: Path) -> None:
    path = mimdsc_copy / "MA-TinyHR.XML"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    export = read_export(mimdsc_copy)
    assert not _errors(export)
    tiny = next(ma for ma in export.management_agents if ma.name == "TinyHR")
    assert len(tiny.export_flows) == 4


def test_wrong_root_element_is_named(mimdsc_copy: Path) -> None:
    (mimdsc_copy / "MA-Other.XML").write_text("<configuration><item/></configuration>")
    export = read_export(mimdsc_copy)
    (error,) = _errors(export)
    assert "MA-Other.XML" in error and "<configuration>" in error


def test_damaged_sync_rule_in_connect_layout(contoso: Path, tmp_path: Path) -> None:
    dest = tmp_path / "connect"
    shutil.copytree(contoso, dest, ignore=shutil.ignore_patterns("LICENSE.txt", "SOURCE.md"))
    victim = sorted((dest / "SynchronizationRules").glob("*.xml"))[0]
    victim.write_text(victim.read_text()[:200])
    export = read_export(dest)
    (error,) = _errors(export)
    assert f"SynchronizationRules/{victim.name}" in error
    assert len(export.sync_rules) == 61
    assert len(export.management_agents) == 2


def test_bad_dn_part_names_the_flow(mimdsc_copy: Path) -> None:
    path = mimdsc_copy / "MV.XML"
    path.write_text(path.read_text().replace("<dn-part>3</dn-part>", "<dn-part>three</dn-part>"))
    export = read_export(mimdsc_copy)
    (error,) = _errors(export)
    assert 'import-flows[@mv-attribute="RetentionUrl"]' in error and "three" in error
    assert export.metaverse is not None and len(export.metaverse.import_flows) == 13


def test_missing_path() -> None:
    with pytest.raises(ExportNotFoundError):
        read_export("/nonexistent/export/folder")


def test_single_export_ma_file_carries_its_import_flows(tmp_path: Path) -> None:
    """An <export-ma> holds one agent and, in its own <mv-data>, the import flows from that agent."""
    single = single_export_ma(tmp_path)
    export = read_export(single)
    assert export.layout.value == "ma-file"
    assert [ma.name for ma in export.management_agents] == ["Azure AD"]
    assert export.metaverse is not None
    (flow,) = export.metaverse.import_flows
    assert (flow.mv_attribute, flow.ma_name) == ("cloudAnchor", "Azure AD")
    assert analyze_export(export).topology.dead_connectors[0].inbound[0].mv_attribute == "cloudAnchor"


def test_manual_precedence_is_listed_as_code(tmp_path: Path) -> None:
    dest = tmp_path / "x"
    shutil.copytree(EXPORTS / "hr-sql-aad", dest)
    mv = dest / "MV.XML"
    mv.write_text(
        mv.read_text().replace(
            '<import-flows mv-attribute="givenName" type="ranked">',
            '<import-flows mv-attribute="givenName" type="manual">',
        )
    )
    analysis = analyze_export(read_export(dest))
    (item,) = analysis.topology.untranslatable
    assert (item.what, item.object_type, item.attribute) == ("manual precedence", "person", "givenName")
    assert item.location.element.endswith('import-flows[@mv-attribute="givenName"]')
    assert analysis.recommendation.path.value == "mim-graph"
