"""Migration reader benchmark: generate a ~50 MB server export in the real MA/MV schema and time reading and
analyzing it.

The export is shaped like a large production one: a big AD agent (a full-size DSML schema and thousands of
sync-rule export flows with <fn> trees), a few dozen other agents, and a metaverse with tens of thousands of
import flows. Prints a table and, last, one line of JSON. CPU seconds are given beside wall seconds because the
machine may be shared; CPU time is the figure to compare between runs.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from idsync.migrate.analysis import analyze_export
from idsync.migrate.reader import read_export

TARGET_MB = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
STRING = "1.3.6.1.4.1.1466.115.121.1.15"


def _guid(n: int, kind: int) -> str:
    return f"{{{kind:08X}-{n >> 16 & 0xFFFF:04X}-4{n & 0xFFF:03X}-8000-{n:012X}}}"


def _schema(n_types: int, n_classes: int, refs_per_class: int) -> str:
    out = [
        '<schema><dsml:dsml xmlns:dsml="http://www.dsml.org/DSML" xmlns:ms-dsml="http://www.microsoft.com/MMS/DSML">'
    ]
    out.append("<dsml:directory-schema>")
    for c in range(n_classes):
        out.append(f'<dsml:class id="class{c}" type="structural"><dsml:name>class{c}</dsml:name>')
        for r in range(refs_per_class):
            out.append(f'<dsml:attribute ref="#A{(c * 7 + r) % n_types}" required="false" />')
        out.append("</dsml:class>")
    for t in range(n_types):
        out.append(
            f'<dsml:attribute-type id="A{t}" single-value="true"><dsml:name>attribute{t}</dsml:name>'
            f"<dsml:syntax>{STRING}</dsml:syntax></dsml:attribute-type>"
        )
    out.append("</dsml:directory-schema></dsml:dsml></schema>")
    return "".join(out)


def _export_flow(i: int, rule: str) -> str:
    return (
        f'<export-flow cd-attribute="attribute{i}" id="{_guid(i, 0xEF)}" suppress-deletions="false">'
        f'<sync-rule-mapping mapping-type="expression" sync-rule-id="{rule}" sync-rule-mapping-id="{_guid(i, 0x5A)}" '
        'initial-flow-only="false" is-existence-test="false"><src-attribute>givenName</src-attribute>'
        '<src-attribute>sn</src-attribute><sync-rule-value><export-flow allows-null="false"><src><attr>givenName</attr>'
        f"<attr>sn</attr></src><dest>attribute{i}</dest><scoping />"
        '<fn id="+" isCustomExpression="false"><arg><fn id="LowerCase" isCustomExpression="false"><arg>'
        '<fn id="Left" isCustomExpression="false"><arg>givenName</arg><arg>1</arg></fn></arg></fn></arg>'
        '<arg>sn</arg><arg>"@contoso.com"</arg></fn></export-flow></sync-rule-value></sync-rule-mapping></export-flow>'
    )


def _ma(n: int, name: str, category: str, schema: str, flows: int) -> str:
    rule = _guid(n, 0x11)
    body = "".join(_export_flow(i, rule) for i in range(flows))
    return (
        "<saved-ma-configuration server='BENCH' export-date='2026-01-01 00:00:00.000'><ma-data>"
        f"<format-version>1</format-version><id>{_guid(n, 0xAA)}</id><name>{name}</name><category>{category}</category>"
        f"<subtype/><ma-listname/><ma-companyname/>{schema}"
        "<attribute-inclusion>"
        + "".join(f"<attribute>attribute{i}</attribute>" for i in range(200))
        + "</attribute-inclusion>"
        '<stay-disconnector/><join><join-profile cd-object-type="user"><join-criterion id="{1}"><search mv-object-type='
        '"person"><attribute-mapping mv-attribute="employeeID"><direct-mapping>'
        "<src-attribute>employeeID</src-attribute>"
        '</direct-mapping></attribute-mapping></search><resolution type="none"><script-context/></resolution>'
        "</join-criterion></join-profile></join><projection/>"
        f'<export-attribute-flow><export-flow-set cd-object-type="user" mv-object-type="person">{body}'
        "</export-flow-set></export-attribute-flow>"
        '<provisioning-cleanup type="declared"><action>make-normal-disconnector</action></provisioning-cleanup>'
        "<extension/><private-configuration><adma-configuration><forest-name>bench"
        f"{n}.example.com</forest-name></adma-configuration></private-configuration>"
        f"<ma-partition-data><partition><id>{_guid(n, 0xBB)}</id><name>DC=bench{n},DC=example,DC=com</name>"
        "<selected>1</selected><filter><object-classes><object-class>user</object-class></object-classes>"
        "<containers><exclusions/><inclusions><inclusion>OU=Staff</inclusion></inclusions></containers></filter>"
        "</partition></ma-partition-data><ma-run-data/></ma-data></saved-ma-configuration>"
    )


def _mv(agents: int, flows_per_agent: int) -> str:
    parts = [
        "<saved-mv-configuration server='BENCH' export-date='2026-01-01 00:00:00.000'><mv-data>"
        "<format-version>1</format-version><version>1</version>",
        _schema(2000, 20, 150),
        '<import-attribute-flow><import-flow-set mv-object-type="person">',
    ]
    for a in range(flows_per_agent):
        parts.append(f'<import-flows mv-attribute="attribute{a}" type="ranked">')
        for n in range(agents):
            parts.append(
                f'<import-flow src-ma="{_guid(n, 0xAA)}" cd-object-type="user" id="{_guid(a * 1000 + n, 0xCC)}">'
                f"<direct-mapping><src-attribute>attribute{a}</src-attribute></direct-mapping></import-flow>"
            )
        parts.append("</import-flows>")
    parts.append('</import-flow-set></import-attribute-flow><provisioning type="sync-rule"/></mv-data>')
    parts.append("</saved-mv-configuration>")
    return "".join(parts)


def generate(root: Path, target_mb: float) -> int:
    """Agents first, then a metaverse whose import flows come from every one of them."""
    big_schema = _schema(4000, 600, 120)
    (root / "MA-BIG.XML").write_text(_ma(0, "BIG", "AD", big_schema, 20_000), encoding="utf-8")
    small_schema = _schema(300, 10, 60)
    n = 1
    mv_reserve = 4_000_000
    while sum(p.stat().st_size for p in root.iterdir()) < target_mb * 1_000_000 - mv_reserve:
        (root / f"MA-AGENT{n:03}.XML").write_text(_ma(n, f"AGENT{n:03}", "MSSQL", small_schema, 2000), encoding="utf-8")
        n += 1
    (root / "MV.XML").write_text(_mv(n, 2000), encoding="utf-8")
    return sum(p.stat().st_size for p in root.iterdir())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="idsync-bench-migrate-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        size = generate(root, TARGET_MB)
        gen = time.perf_counter() - t0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0, c0 = time.perf_counter(), time.process_time()
        export = read_export(root)
        read_s, read_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        analysis = analyze_export(export)
        analyze_s, analyze_cpu = time.perf_counter() - t0, time.process_time() - c0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        flows = sum(len(ma.export_flows) for ma in export.management_agents)
        mv_flows = len(export.metaverse.import_flows) if export.metaverse else 0
        types = sum(len(ma.schema.attribute_types) for ma in export.management_agents)
        assert not export.issues, export.issues[:3]
        figures = {
            "files": len(export.files),
            "megabytes": round(size / 1_000_000, 1),
            "agents": len(export.management_agents),
            "export_flows": flows,
            "import_flows": mv_flows,
            "schema_attribute_types": types,
            "read_seconds": round(read_s, 2),
            "read_cpu_seconds": round(read_cpu, 2),
            "analyze_seconds": round(analyze_s, 2),
            "analyze_cpu_seconds": round(analyze_cpu, 2),
            "read_mb_per_cpu_s": round(size / 1_000_000 / read_cpu, 1),
            "peak_rss_mb": round(rss_after / 1024, 1),
            "rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
        }
        print(f"generated {figures['megabytes']} MB in {gen:.1f} s ({analysis.recommendation.path.value})")
        print(f"{'figure':<24} {'value':>12}")
        for key, value in figures.items():
            print(f"{key:<24} {value:>12}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
