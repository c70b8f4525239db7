"""The REST API over a real server, on SQLite and PostgreSQL: access, bad input, and every resource it serves."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from servicesite import TOKEN, Site, served

from idsync.cli.main import cli

PROTECTED = [
    ("GET", "/api/status"),
    ("GET", "/api/runs"),
    ("GET", "/api/runs/1"),
    ("POST", "/api/runs"),
    ("GET", "/api/cs?connector=hr"),
    ("GET", "/api/objects/cs:1"),
    ("GET", "/api/audit"),
    ("POST", "/api/holds/dir/approve"),
    ("POST", "/api/objects/hr:E0001/disconnect"),
    ("POST", "/api/objects/hr:E0001/join"),
    ("POST", "/api/objects/hr:E0001/project"),
    ("POST", "/api/objects/hr:E0001/on-demand"),
    ("POST", "/api/config/reload"),
    ("GET", "/metrics"),
]


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["status"] == status
    message: str = body["error"]["message"]
    assert message
    return message


def test_no_token_is_401_and_a_wrong_token_403(populated: Site) -> None:
    with populated.client(token=None) as anonymous, populated.client(token="wrong-token-0123456789") as wrong:
        for method, path in PROTECTED:
            missing = anonymous.request(method, path, json={} if method == "POST" else None)
            _error(missing, 401)
            assert missing.headers["www-authenticate"] == "Bearer"
            _error(wrong.request(method, path, json={} if method == "POST" else None), 403)
        _error(anonymous.get("/api/runs", headers={"Authorization": f"Basic {TOKEN}"}), 401)
        # the dashboard sends a browser to its login page instead
        page = anonymous.get("/runs/1", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fruns%2F1"
        # health and the API description are public
        assert anonymous.get("/healthz").json() == {"status": "ok", "role": "active"}
        assert anonymous.get("/api/openapi.json").json()["openapi"].startswith("3.")
        # nothing was started by the refused POSTs
        assert len(populated.client().get("/api/runs").json()["runs"]) == 1


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/runs?limit=%C2%B2", "limit"),
        ("/api/runs?limit=--5", "limit"),
        ("/api/runs?limit=-%2B5", "limit"),
        ("/api/runs?before=%D9%A1", "before"),  # an Arabic-Indic one, which int() would take
        ("/api/runs?limit=1_0", "limit"),
        ("/api/runs?limit=%201", "limit"),
        ("/api/runs/%C2%B2", "run_id"),
        ("/api/runs/%C2%B2/errors", "run_id"),
        ("/api/objects/cs:%C2%B2", "cs:"),
        ("/api/objects/mv:--1", "mv:"),
        ("/api/cs?after=%C2%B3", "after"),
        ("/api/audit?run=%C2%B2", "run"),
    ],
)
def test_malformed_numbers_are_400_naming_the_parameter(populated: Site, path: str, name: str) -> None:
    with populated.client() as c:
        assert name in _error(c.get(path), 400)


@pytest.mark.parametrize("path", ["/runs/%C2%B2", "/runs/--1", "/objects/cs:%C2%B2", "/audit?run=%C2%B2"])
def test_the_dashboard_answers_malformed_numbers_with_400(populated: Site, path: str) -> None:
    with _dashboard(populated, "/") as (browser, _, _):
        page = browser.get(path)
        assert page.status_code == 400 and 'id="problem"' in page.text, page.text


def test_unknown_ids_are_404_with_a_json_error(populated: Site) -> None:
    with populated.client() as c:
        assert "no run 99999" in _error(c.get("/api/runs/99999"), 404)
        assert "run_id" in _error(c.get("/api/runs/abc"), 400)
        _error(c.get("/api/runs/99999/errors"), 404)
        assert "cs:999999" in _error(c.get("/api/objects/cs:999999"), 404)
        assert "mv:999999" in _error(c.get("/api/objects/mv:999999"), 404)
        assert "'NOPE'" in _error(c.get("/api/objects/hr:NOPE"), 404)
        assert "'nope'" in _error(c.post("/api/holds/nope/approve", json={}), 404)
        assert "'nope'" in _error(c.post("/api/errors/nope/retry", json={}), 404)
        _error(c.get("/api/nothing-here"), 404)
        # malformed, rather than unknown: 400 naming what is wrong
        assert "not a connector" in _error(c.get("/api/objects/ldap:x"), 400)
        assert "takes a number" in _error(c.get("/api/objects/cs:abc"), 400)
        assert "limit" in _error(c.get("/api/runs?limit=abc"), 400)
        assert "limit" in _error(c.get("/api/cs?limit=0"), 400)
        assert "pending_export" in _error(c.get("/api/cs?pending_export=maybe"), 400)
        assert "NAME=VALUE" in _error(c.get("/api/cs?attr=department"), 400)
        assert "attr" in _error(c.get("/api/mv"), 400)
        assert "since" in _error(c.get("/api/audit?since=yesterday"), 400)
        assert "'nope'" in _error(c.post("/api/runs", json={"profile": "nope"}), 400)
        assert "profile" in _error(c.post("/api/runs", json={}), 400)
        assert "JSON" in _error(c.post("/api/runs", content=b"{not json"), 400)
        assert "JSON object" in _error(c.post("/api/runs", json=["full"]), 400)
        assert "count" in _error(c.post("/api/holds/dir/approve", json={"count": "all"}), 400)
        _error(c.delete("/api/runs"), 405)


INJECTIONS = [
    "' OR '1'='1",
    "E0001' OR 1=1 --",
    '"; DROP TABLE cs; --',
    "x'); DELETE FROM runs; --",
    "%",
    "_",
    "\\",
    "$.employeeId",
    "E0001 ",
]


def test_injection_shaped_query_strings_are_harmless(populated: Site) -> None:
    with populated.client() as c:
        before = c.get("/api/status").json()
        for text in INJECTIONS:
            for params in (
                {"identifier": text},
                {"attr": f"department={text}"},
                {"attr": f"{text}=Sales"},
                {"type": text},
            ):
                found = c.get("/api/cs", params=params)
                assert found.status_code == 200, (params, found.text)
                assert found.json()["total"] == 0, params
            # a connector is one of the configured names: anything else is refused before any query, naming them
            for path in ("/api/cs", "/api/pending-exports", "/api/errors", "/api/audit"):
                refused = _error(c.get(path, params={"connector": text}), 400)
                assert refused.startswith("connector: no connector named") and "(known: hr, dir)" in refused
                assert "E00" not in refused.replace(text, "")  # names the filter, shows no object
            assert "op: no audited operation" in _error(c.get("/api/audit", params={"op": text}), 400)
            mv = c.get("/api/mv", params={"attr": f"sn={text}"})
            assert mv.status_code == 200 and mv.json()["objects"] == []
            mv = c.get("/api/mv", params={"attr": f"{text}=x", "type": text})
            assert mv.status_code == 200 and mv.json()["objects"] == []
            audit = c.get("/api/audit", params={"identifier": text, "connector": "dir", "op": "add", "rule": text})
            assert audit.status_code == 200 and audit.json()["rows"] == []
            assert c.get(f"/api/objects/hr:{text}").status_code in (400, 404)
        after = c.get("/api/status").json()
        assert after["connectors"] == before["connectors"] and after["metaverse"] == before["metaverse"]
        assert len(c.get("/api/runs").json()["runs"]) == 1
        assert "NUL" in _error(c.get("/api/cs", params={"identifier": "E0001\x00"}), 400)
        assert "NUL" in _error(c.get("/api/objects/hr:E0001%00"), 400)
        # the wildcard is * and only *: ten identifiers E0000..E0009 start with E000
        assert c.get("/api/cs", params={"connector": "hr", "identifier": "E000*"}).json()["total"] == 10
        assert c.get("/api/cs", params={"connector": "hr", "identifier": "E000_"}).json()["total"] == 0


def test_runs_with_steps_counters_and_errors(populated: Site) -> None:
    with populated.client() as c:
        runs = c.get("/api/runs").json()["runs"]
        assert [r["profile"] for r in runs] == ["full"]
        run = c.get(f"/api/runs/{runs[0]['run_id']}").json()
        steps = {(s["connector"], s["step"]): s for s in run["steps"]}
        assert steps[("hr", "full-import")]["adds"] == 30
        assert steps[("hr", "full-sync")]["projections"] == 30 and steps[("hr", "full-sync")]["provisioned"] == 30
        assert steps[("dir", "export")]["adds"] == 30
        assert all(s["status"] == "success" for s in run["steps"])
        assert run["error_rows"] == [] and run["errors"] == 0
        populated.hr.replace("E0004", {"department": "x" * 3})
        populated.dir.refuse_value("department", "xxx")
        failing = populated.run("full")
        assert failing["status"] == "completed-errors"
        (row,) = c.get(f"/api/runs/{failing['run_id']}/errors").json()["errors"]
        assert row["connector"] == "dir" and row["attribute"] == "department" and "uid=E0004" in row["reason"]
        assert c.get("/api/runs", params={"limit": 1}).json()["next_before"] == failing["run_id"]
        older = c.get("/api/runs", params={"before": failing["run_id"]}).json()["runs"]
        assert [r["run_id"] for r in older] == [runs[0]["run_id"]]


def test_object_detail_gives_lineage_both_ways(populated: Site) -> None:
    with populated.client() as c:
        hr = c.get("/api/objects/hr:E0003").json()
        cs, mv = hr["cs"], hr["mv"]
        assert cs["connector"] == "hr" and cs["anchor"] == "E0003" and cs["link_rule"] == "projected:hr-people"
        assert mv["attributes"]["displayName"] == "Ann Lee3"
        assert mv["lineage"]["displayName"] == {"connector": "hr", "rule": "hr-people", "cs_id": cs["id"]}
        whole = c.get(f"/api/objects/mv:{mv['id']}").json()
        links = {link["connector"]: link for link in whole["links"]}
        assert set(links) == {"hr", "dir"}
        assert links["dir"]["identifier"] == "uid=E0003,ou=people"
        assert links["dir"]["link_rule"] == "provisioned:dir-users"
        (export,) = links["dir"]["exports"]
        assert export["op"] == "add" and export["rule"] == "dir-users" and export["result"] == "success"
        by_identifier = c.get("/api/objects/dir:uid=E0003,ou=people").json()
        assert by_identifier["cs"]["id"] == links["dir"]["id"]


def test_connector_space_search_by_link_state(populated: Site) -> None:
    with populated.client() as c:

        def total(**params: str) -> int:
            answer = c.get("/api/cs", params={"connector": "hr", **params})
            assert answer.status_code == 200, answer.text
            return int(answer.json()["total"])

        everything, joined = total(), total(state="connector")
        assert everything > 0 and joined == everything  # every HR row projected
        assert total(state="explicit-disconnector") == 0
        assert total(state="disconnector, filtered-disconnector") == total(disconnector="true") == 0
        assert total(state="connector,explicit-disconnector") == joined
        assert "unknown link state 'joined'" in _error(c.get("/api/cs?state=joined"), 400)
        assert "not both" in _error(c.get("/api/cs?state=connector&disconnector=true"), 400)


def test_pending_exports_errors_and_retry(populated: Site) -> None:
    populated.hr.replace("E0001", {"department": "Research"})
    assert populated.run("sync")["status"] == "success"
    with populated.client() as c:
        pending = c.get("/api/pending-exports", params={"connector": "dir"}).json()
        assert pending["total"] == 1
        (obj,) = pending["objects"]
        assert obj["identifier"] == "uid=E0001,ou=people"
        assert obj["pending_export"]["changes"] == [["department", "replace", ["Research"], "dir-users"]]
        populated.dir.fail("uid=E0001,ou=people", op="update", message="busy", retryable=True, times=1)
        assert populated.run("export")["status"] == "completed-errors"
        (failed,) = c.get("/api/errors", params={"connector": "dir"}).json()["objects"]
        assert failed["id"] == obj["id"] and "busy" in failed["error"]
        retry = c.post("/api/errors/dir/retry", json={})
        assert retry.status_code == 202
        assert populated.service is not None and populated.service.wait_idle(30)
        run = c.get(f"/api/runs/{retry.json()['run_id']}").json()
        assert run["profile"] == "retry-export dir" and run["status"] == "success" and run["steps"][0]["updates"] == 1
        assert c.get("/api/errors").json()["total"] == 0
        assert c.get("/api/pending-exports").json()["total"] == 0
    assert populated.dir.find("uid=E0001,ou=people").attributes["department"] == "Research"


def test_deletion_threshold_hold_and_approval(populated: Site) -> None:
    for i in range(5):
        populated.hr.delete(f"E00{10 + i}")
    held = populated.run("full")
    export = next(s for s in held["steps"] if s["step"] == "export")
    assert export["status"] == "stopped-deletion-threshold"
    with populated.client() as c:
        (hold,) = c.get("/api/holds").json()["holds"]
        assert hold["connector"] == "dir" and hold["pending_deletes"] == 5 and hold["approved"] == 0
        assert "deletion threshold of 3" in hold["reason"]
        # fewer than are pending would be recorded and still stop the export: refused, as the CLI refuses it
        below = _error(c.post("/api/holds/dir/approve", json={"count": 2}), 400)
        assert "approving 2 lets the export through only while at most 2" in below and "Nothing was approved" in below
        assert c.get("/api/holds").json()["holds"][0]["approved"] == 0
        approved = c.post("/api/holds/dir/approve", json={})
        assert approved.status_code == 200 and approved.json() == {
            "connector": "dir",
            "approved": 5,
            "pending_deletes": 5,
        }
        assert c.get("/api/holds").json()["holds"][0]["approved"] == 5
        done = populated.run("export")
        assert done["status"] == "success" and done["steps"][0]["deletes"] == 5
        assert c.get("/api/holds").json()["holds"] == []
    assert len(populated.dir) == 25


def test_disconnect_explicit_and_back_to_normal(populated: Site) -> None:
    with populated.client() as c:
        cs_id, mv_id = (c.get("/api/objects/hr:E0003").json()["cs"][key] for key in ("id", "mv_id"))
        assert isinstance(mv_id, int)
        done = c.post("/api/objects/hr:E0003/disconnect", json={})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["mv_id"] == mv_id and body["object"]["link_state"] == "disconnector"
        assert body["object"]["mv_id"] is None and "disconnect" in body["message"]
        assert c.get(f"/api/runs/{body['run_id']}").json()["profile"] == f"Disconnected hr 'E0003' (cs:{cs_id})"
        # a normal disconnector can only be made explicit
        assert "explicit" in _error(c.post("/api/objects/hr:E0003/disconnect", json={}), 409)
        explicit = c.post("/api/objects/hr:E0003/disconnect", json={"explicit": True}).json()
        assert explicit["object"]["link_state"] == "explicit-disconnector"
        again = c.post("/api/objects/hr:E0003/disconnect", json={"explicit": True}).json()
        assert again["run_id"] is None and "already" in again["message"]
        cleared = c.post("/api/objects/hr:E0003/disconnect", json={"clear": True}).json()
        assert cleared["object"]["link_state"] == "disconnector"
        assert "not an explicit" in _error(c.post("/api/objects/hr:E0003/disconnect", json={"clear": True}), 409)
        # bad requests name what is wrong
        assert "explicit" in _error(c.post("/api/objects/hr:E0004/disconnect", json={"explicit": "yes"}), 400)
        assert "opposite" in _error(
            c.post("/api/objects/hr:E0004/disconnect", json={"explicit": True, "clear": True}), 400
        )
        assert "metaverse object" in _error(c.post(f"/api/objects/mv:{mv_id}/disconnect", json={}), 400)
        _error(c.post("/api/objects/cs:999999/disconnect", json={}), 404)
        assert c.get("/api/objects/hr:E0004").json()["cs"]["link_state"] == "connector"

    # the run history names the three in an operator's words: the dashboard's runs page and `idsync history` alike
    named = [
        f"Converted hr 'E0003' (cs:{cs_id}) to a normal disconnector",
        f"Disconnected hr 'E0003' (cs:{cs_id}) as an explicit disconnector",
        f"Disconnected hr 'E0003' (cs:{cs_id})",
    ]
    with _dashboard(populated, "/runs") as (_browser, page, _csrf):
        shown = [html.unescape(p) for p in re.findall(r'class="run-link">\d+</a></td>\s*<td>([^<]*)<', page)]
        assert shown[:3] == named
        assert "idsync" not in " ".join(shown[:3]) and "--" not in " ".join(shown[:3])
    history = CliRunner().invoke(cli, ["-C", str(populated.root), "history", "--json"], catch_exceptions=False)
    assert [run["profile"] for run in json.loads(history.stdout)[:3]] == named


def test_join_and_project_by_hand(populated: Site) -> None:
    with populated.client() as c:
        person = c.get("/api/objects/hr:E0005").json()
        mv_id = person["mv"]["id"]
        account = next(link for link in person["links"] if link["connector"] != "hr")
        ref = f"cs:{account['id']}"
        assert c.post(f"/api/objects/{ref}/disconnect", json={"explicit": True}).status_code == 200
        done = c.post(f"/api/objects/{ref}/join", json={"to": f"mv:{mv_id}"})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["status"] == "success" and body["mv_id"] == mv_id
        assert (body["object"]["link_state"], body["object"]["link_rule"]) == ("connector", "joined-manually")
        assert c.get(f"/api/runs/{body['run_id']}").json()["profile"].startswith(f"Joined {account['connector']} ")
        # refusals: joined already (409), a bad or missing "to" (400), unknown objects (404)
        assert "already" in _error(c.post(f"/api/objects/{ref}/join", json={"to": f"mv:{mv_id}"}), 409)
        assert "to:" in _error(c.post(f"/api/objects/{ref}/join", json={}), 400)
        assert "metaverse object" in _error(c.post(f"/api/objects/{ref}/join", json={"to": ref}), 400)
        _error(c.post("/api/objects/cs:999999/join", json={"to": f"mv:{mv_id}"}), 404)
        assert "mv:999999" in _error(c.post(f"/api/objects/{ref}/join", json={"to": "mv:999999"}), 404)
        # projecting: an account no inbound rule reads would make an empty person
        assert c.post(f"/api/objects/{ref}/disconnect", json={"explicit": True}).status_code == 200
        assert "no inbound rule flows" in _error(c.post(f"/api/objects/{ref}/project", json={}), 409)
        assert "type:" in _error(c.post(f"/api/objects/{ref}/project", json={"type": 7}), 400)
        person_ref = f"cs:{person['cs']['id']}"
        assert c.post(f"/api/objects/{person_ref}/disconnect", json={"explicit": True}).status_code == 200
        projected = c.post(f"/api/objects/{person_ref}/project", json={"type": "person"})
        assert projected.status_code == 200, projected.text
        assert projected.json()["object"]["link_rule"] == "projected-manually" and projected.json()["mv_id"]


def test_provision_on_demand(populated: Site) -> None:
    with populated.client() as c:
        done = c.post("/api/objects/hr:E0006/on-demand", json={})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["profile"] == "Provisioned on demand hr 'E0006'" and body["status"] == "success"
        assert [s["step"] for s in body["steps"]][:2] == ["delta-import", "delta-sync"]
        assert body["object"]["anchor"] == "E0006" and body["mv_id"] == body["object"]["mv_id"]
        assert all(t["staged"] is None for t in body["targets"])  # nothing changed since the last cycle
        assert c.get(f"/api/runs/{body['run_id']}").json()["profile"] == body["profile"]
        missing = c.post("/api/objects/hr:E9999/on-demand", json={}).json()
        assert missing["missing"] is True and missing["status"] == "stopped-config"
        assert "source object" in _error(c.post("/api/objects/mv:1/on-demand", json={}), 400)


def test_config_reload_applies_to_new_runs_and_a_broken_file_changes_nothing(populated: Site) -> None:
    config = populated.root / "idsync.yaml"
    good = config.read_text(encoding="utf-8")
    with populated.client() as c:
        assert c.get("/api/status").json()["service"]["config"]["generation"] == 1
        assert "no run profile named 'nightly'" in _error(c.post("/api/runs", json={"profile": "nightly"}), 400)
        config.write_text(good.replace("profiles:\n", "profiles:\n  nightly: [{hr: full-import}]\n"), encoding="utf-8")
        reloaded = c.post("/api/config/reload", json={})
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["generation"] == 2 and reloaded.json()["restart_needed"] == []
        assert populated.run("nightly")["status"] == "success"

        # a file that does not validate: the error says where, and the running configuration stays
        config.write_text(good.replace("profiles:\n", "profiles:\n  broken: [{hr: fulll-import}]\n"), encoding="utf-8")
        message = _error(c.post("/api/config/reload", json={}), 400)
        assert re.search(r"idsync\.yaml:\d+:\d+: profiles\.broken\.0\.step", message), message
        assert "the running one stays" in message
        config_status = c.get("/api/status").json()["service"]["config"]
        assert config_status["generation"] == 2 and "profiles.broken" in config_status["reload_error"]
        assert populated.run("nightly")["status"] == "success"

        # another store needs a restart; so does another port, which the answer names
        config.write_text(good.replace("store: ", "store: postgresql://nowhere.invalid/x #", 1), encoding="utf-8")
        assert "restart" in _error(c.post("/api/config/reload", json={}), 400)
        config.write_text(good.replace("service:\n", "service:\n  port: 8471\n", 1), encoding="utf-8")
        moved = c.post("/api/config/reload", json={}).json()
        assert moved["restart_needed"] == ["port"] and moved["reload_error"] is None
        assert "no run profile named 'nightly'" in _error(c.post("/api/runs", json={"profile": "nightly"}), 400)


def test_audit_trail_search(populated: Site) -> None:
    populated.hr.replace("E0002", {"department": "Legal"})
    second = populated.run("full")
    with populated.client() as c:
        rows = c.get("/api/audit", params={"limit": 1000}).json()["rows"]
        assert len(rows) == 31
        assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
        (update,) = c.get("/api/audit", params={"run": second["run_id"]}).json()["rows"]
        assert update["op"] == "update" and update["identifier"] == "uid=E0002,ou=people"
        assert update["changes"] == [["department", "replace", ["Legal"], "dir-users"]]
        assert update["rule"] == "dir-users" and update["result"] == "success"
        mine = c.get("/api/audit", params={"object": "dir:uid=E0002,ou=people"}).json()["rows"]
        assert [r["op"] for r in mine] == ["update", "add"]
        assert (
            c.get("/api/audit", params={"identifier": "uid=E0002,ou=people", "op": "add"}).json()["rows"][0]["op"]
            == "add"
        )
        assert len(c.get("/api/audit", params={"connector": "dir", "op": "add"}).json()["rows"]) == 30
        assert c.get("/api/audit", params={"failed": "true"}).json()["rows"] == []
        assert c.get("/api/audit", params={"since": update["at"]}).json()["rows"][0]["id"] == update["id"]
        assert all(r["id"] != update["id"] for r in c.get("/api/audit", params={"until": update["at"]}).json()["rows"])
        page = c.get("/api/audit", params={"limit": 10}).json()
        following = c.get("/api/audit", params={"limit": 10, "before": page["next_before"]}).json()["rows"]
        assert following[0]["id"] == page["rows"][-1]["id"] - 1


def test_openapi_describes_every_api_route(populated: Site) -> None:
    with populated.client() as c:
        document = c.get("/api/openapi.json").json()
        assert populated.service is not None
        served = {
            (method.lower(), re.sub(r":\w+\}", "}", route.path))  # {ref:path} is described as {ref}
            for route in _api_routes(populated)
            for method in route.methods or ()
            if method != "HEAD"
        }
        described = {(m, p) for p, ops in document["paths"].items() for m in ops}
        assert served == described
        for path, ops in document["paths"].items():
            for method, op in ops.items():
                assert op["summary"] and op["responses"]
                url = re.sub(r"\{[^}]+\}", "1", path)
                response = c.request(method, url, json={} if method == "post" else None)
                assert response.status_code not in (405, 500), (method, path, response.text)


def _api_routes(site: Site) -> list[Any]:
    from idsync.service.api import routes

    assert site.service is not None
    return [r for r in routes(site.service)]


def test_metrics(populated: Site) -> None:
    with populated.client() as c:
        text = c.get("/metrics").text
    assert 'idsync_step_objects_total{connector="dir",outcome="adds",step="export"} 30.0' in text
    assert 'idsync_step_objects_total{connector="hr",outcome="adds",step="full-import"} 30.0' in text
    assert 'idsync_steps_total{connector="dir",status="success",step="export"} 1.0' in text
    assert 'idsync_step_duration_seconds_count{connector="hr",step="full-sync"} 1.0' in text
    assert 'idsync_pending_exports{connector="dir"} 0.0' in text
    assert 'idsync_connector_space_objects{connector="hr"} 30.0' in text
    assert 'idsync_runs_total{profile="full",status="success"} 1.0' in text
    assert "idsync_service_active 1.0" in text
    populated.hr.replace("E0001", {"department": "Research"})
    populated.run("sync")
    with populated.client() as c:
        assert 'idsync_pending_exports{connector="dir"} 1.0' in c.get("/metrics").text


def test_start_a_profile_twice_is_a_conflict(site: Site) -> None:
    site.configure(slow=True, page_size=10, delay=0.1)
    site.people(60)
    with served(site) as s, s.client() as c:
        first = c.post("/api/runs", json={"profile": "hr-import"})
        assert first.status_code == 202
        second = c.post("/api/runs", json={"profile": "hr-import"})
        message = _error(second, 409)
        assert f"run {first.json()['run_id']}" in message
        deadline = time.monotonic() + 10
        while not c.get("/api/progress").json()["runs"][0]["steps"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (live,) = c.get("/api/progress").json()["runs"][0]["steps"]
        assert live["connector"] == "hr" and live["step"] == "full-import" and live["done"] >= 0
        assert s.service is not None and s.service.wait_idle(30)
        assert c.get(f"/api/runs/{first.json()['run_id']}").json()["steps"][0]["adds"] == 60
        events = c.get("/metrics").text
        assert 'idsync_connector_events_total{connector="hr",event="throttled"} 6.0' in events


@pytest.mark.parametrize("path", ["/", "/runs", "/runs/1", "/search", "/holds", "/audit", "/exports", "/objects/mv:1"])
def test_dashboard_pages_need_a_session_and_render(populated: Site, path: str) -> None:
    with httpx.Client(base_url=populated.url) as browser:
        assert browser.get(path, follow_redirects=False).status_code == 303
        wrong = browser.post("/login", data={"token": "not-the-token-at-all", "next": path})
        assert wrong.status_code == 403 and "not right" in wrong.text
        login = browser.post("/login", data={"token": TOKEN, "next": path}, follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == path
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        page = browser.get(path)
        assert page.status_code == 200 and "<title>" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        # a change through the session needs the CSRF token of the page
        assert browser.post("/ui/holds/dir/approve").status_code == 403
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert csrf is not None
        ok = browser.post("/ui/holds/dir/approve", data={"expected": "0"}, headers={"X-CSRF-Token": csrf.group(1)})
        assert ok.status_code == 200 and "approved 0 of 0" in ok.text


def test_login_never_redirects_off_site(populated: Site) -> None:
    with httpx.Client(base_url=populated.url) as browser:
        for target, expected in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/runs?x=1", "/runs?x=1")):
            login = browser.post("/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
            assert login.status_code == 303 and login.headers["location"] == expected, target


def test_dashboard_audit_pages_keep_their_filters(site: Site) -> None:
    site.configure()
    site.people(120)
    with served(site) as s, httpx.Client(base_url=s.url) as browser:
        assert s.run("full")["status"] == "success"
        browser.post("/login", data={"token": TOKEN, "next": "/"})
        first = browser.get("/audit", params={"connector": "dir", "op": "add"})
        older = re.search(r'<a href="(/audit\?[^"]+)" id="audit-older">', first.text)
        assert older is not None
        link = older.group(1).replace("&amp;", "&")
        assert "connector=dir" in link and "op=add" in link and "before=" in link
        second = browser.get(link)
        assert second.status_code == 200 and second.text.count("<td>add</td>") == 20


def test_the_audit_page_offers_the_workspace_connectors_to_choose_from(populated: Site) -> None:
    with _dashboard(populated, "/audit?connector=dir") as (_browser, page, _csrf):
        chooser = re.search(r'<select name="connector">(.*?)</select>', page, re.S)
        assert chooser is not None and '<input name="connector"' not in page
        options = re.findall(r"<option ?(selected)?>([^<]+)</option>", chooser.group(1))
        assert options == [("", "hr"), ("selected", "dir")]
        assert page.count("<td>dir</td>") == 30 and "<td>hr</td>" not in page  # one add per person
    with populated.client() as c:  # the API names what it does not know
        assert "did you mean 'dir'" in _error(c.get("/api/audit", params={"connector": "dri"}), 400)


@contextmanager
def _dashboard(site: Site, path: str = "/holds") -> Iterator[tuple[httpx.Client, str, str]]:
    """A logged-in browser, the page at ``path`` and its CSRF token."""
    with httpx.Client(base_url=site.url) as browser:
        browser.post("/login", data={"token": TOKEN, "next": "/"})
        page = browser.get(path)
        assert page.status_code == 200, page.text
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert csrf is not None
        yield browser, page.text, csrf.group(1)


def test_the_approve_button_approves_what_the_page_showed_and_nothing_else(populated: Site) -> None:
    for i in range(5):
        populated.hr.delete(f"E00{10 + i}")
    assert populated.run("full")["status"] == "stopped-deletion-threshold"
    with _dashboard(populated) as (browser, page, csrf):
        assert "Approve 5 deletes and disables" in page
        shown = re.search(r"hx-vals='([^']+)'", page)
        assert shown is not None and json.loads(html.unescape(shown.group(1))) == {"expected": 5}
        # the source is cut further after the page was read: the button's 5 are not what is pending now
        for i in range(3):
            populated.hr.delete(f"E00{20 + i}")
        assert populated.run("sync")["status"] == "success"
        refused = browser.post("/ui/holds/dir/approve", data={"expected": "5"}, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 409
        assert "8 deletes and disables are pending for dir now, the page showed 5: review them again" in refused.text
        with populated.client() as c:
            assert c.get("/api/holds").json()["holds"][0]["approved"] == 0
            assert "the page showed 5" in _error(c.post("/api/holds/dir/approve", json={"expected": 5}), 409)
            assert c.get("/api/holds").json()["holds"][0]["approved"] == 0
        # without the number it showed, the dashboard approves nothing
        assert browser.post("/ui/holds/dir/approve", headers={"X-CSRF-Token": csrf}).status_code == 400
        ok = browser.post("/ui/holds/dir/approve", data={"expected": "8"}, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and "approved 8 of 8 pending deletes and disables" in ok.text
    assert populated.run("export")["status"] == "success"
    assert len(populated.dir) == 22


def test_holds_and_pending_exports_name_disables(site: Site) -> None:
    site.configure()
    disable = "    deprovision: disable\n    deprovision_flows: {department: '\"Gone\"'}\n"
    text = (site.root / "idsync.yaml").read_text().replace("    deprovision: delete\n", disable)
    (site.root / "idsync.yaml").write_text(text)
    site.people(10)
    with served(site) as s:
        assert s.run("full")["status"] == "success"
        for i in range(4):
            s.hr.delete(f"E000{i}")
        export = next(x for x in s.run("full")["steps"] if x["step"] == "export")
        assert export["status"] == "stopped-deletion-threshold"
        with s.client() as c:
            (hold,) = c.get("/api/holds").json()["holds"]
            assert hold["pending_deletes"] == 4 and hold["pending_disables"] == 4
            pending = c.get("/api/pending-exports", params={"connector": "dir"}).json()["objects"]
            assert {p["pending_export"]["kind"] for p in pending} == {"disable"}
        with _dashboard(s) as (browser, page, _):
            assert "Approve 4 deletes and disables" in page and "(0 deletes, 4 disables)" in page
            found = browser.get("/search", params={"kind": "cs", "connector": "dir", "pending_delete": "true"})
            assert "export disable" in found.text and "export update" not in found.text
            exports = browser.get("/exports", params={"connector": "dir"}).text
            assert "<td>disable</td>" in exports and "<td>update</td>" not in exports


def test_a_standby_instance_changes_nothing(site: Site) -> None:
    site.configure()
    site.people(30)
    first = site.make_service(heartbeat=0.2, standby_poll=0.2)
    first.start()
    try:
        assert first.start_run("full", origin="test") and first.wait_idle(30)
        for i in range(5):
            site.hr.delete(f"E00{10 + i}")
        assert first.start_run("full", origin="test") and first.wait_idle(30)
        with served(site, heartbeat=0.2, standby_poll=0.2) as s, s.client() as c:
            assert s.service is not None and s.service.role == "standby"
            before = c.get("/api/objects/hr:E0003").json()
            refused = [
                c.post("/api/objects/hr:E0003/disconnect", json={}),
                c.post("/api/objects/hr:E0004/disconnect", json={"explicit": True}),
                c.post("/api/holds/dir/approve", json={"expected": 5}),
                c.post("/api/errors/dir/retry", json={}),
                c.post("/api/runs", json={"profile": "full"}),
                c.post("/api/config/reload", json={}),
            ]
            for answer in refused:
                assert "standby" in _error(answer, 503)
            with _dashboard(s) as (browser, page, csrf):
                assert "Approve 5 deletes and disables" in page
                headers = {"X-CSRF-Token": csrf}
                for path, data in (
                    ("/ui/holds/dir/approve", {"expected": "5"}),
                    ("/ui/objects/hr:E0003/disconnect", {"mode": "explicit"}),
                    ("/ui/retry/dir", {}),
                    ("/ui/runs", {"profile": "full"}),
                    ("/ui/config/reload", {}),
                ):
                    answer = browser.post(path, data=data, headers=headers)
                    assert answer.status_code == 503 and "standby" in answer.text, (path, answer.text)
            assert c.get("/api/objects/hr:E0003").json() == before
            assert c.get("/api/objects/hr:E0004").json()["cs"]["link_state"] == "connector"
            assert c.get("/api/holds").json()["holds"][0]["approved"] == 0
            assert len(c.get("/api/runs").json()["runs"]) == 2
    finally:
        first.stop()


def test_object_references_may_contain_a_slash(populated: Site) -> None:
    """DNs and other identifiers may hold "/": the API reads the whole rest of the path, as the dashboard does."""
    populated.hr.add(
        "person",
        "E01/x",
        {"employeeId": "E01/x", "givenName": "Ann", "sn": "Slash", "department": "Sales", "status": "active"},
        anchor="E01/x",
    )
    assert populated.run("sync")["status"] == "success"
    with populated.client() as c:
        found = c.get("/api/objects/hr:E01%2Fx")
        assert found.status_code == 200, found.text
        assert found.json()["cs"]["anchor"] == "E01/x"
        assert c.get("/api/objects/hr:E01/x").json()["cs"]["id"] == found.json()["cs"]["id"]
        assert "'E01/y'" in _error(c.get("/api/objects/hr:E01%2Fy"), 404)
        done = c.post("/api/objects/hr:E01%2Fx/disconnect", json={})
        assert done.status_code == 200, done.text
        assert done.json()["object"]["anchor"] == "E01/x" and done.json()["object"]["link_state"] == "disconnector"
        # what follows the reference is still no endpoint
        assert c.post("/api/objects/hr:E01%2Fx/elsewhere", json={}).status_code in (404, 405)
    with _dashboard(populated, "/objects/hr:E01%2Fx") as (_, page, _):
        assert "E01/x" in page


@pytest.mark.parametrize("path", ["/api/cs", "/api/pending-exports", "/api/errors", "/api/audit"])
def test_an_unknown_connector_filter_is_400_naming_the_known_ones(populated: Site, path: str) -> None:
    with populated.client() as c:
        message = _error(c.get(path, params={"connector": "nope"}), 400)
        assert message.startswith("connector:") and "'nope'" in message and "hr, dir" in message, message
        assert "did you mean 'dir'" in _error(c.get(path, params={"connector": "dirr"}), 400)
        assert "did you mean 'hr'" in _error(c.get(path, params={"connector": "HR"}), 400)
        assert c.get(path, params={"connector": "dir"}).status_code == 200


def test_an_unknown_audit_operation_is_400_naming_the_known_ones(populated: Site) -> None:
    with populated.client() as c:
        message = _error(c.get("/api/audit", params={"op": "bogus"}), 400)
        assert message.startswith("op:") and "add, update, delete, update+rename" in message, message
        assert "did you mean 'delete'" in _error(c.get("/api/audit", params={"op": "delet"}), 400)
        assert len(c.get("/api/audit", params={"op": "add"}).json()["rows"]) == 30


def test_the_dashboard_names_an_unknown_filter(populated: Site) -> None:
    with _dashboard(populated, "/") as (browser, _, _):
        for path in ("/search?kind=cs&connector=nope", "/exports?connector=nope", "/audit?op=bogus"):
            page = browser.get(path)
            assert page.status_code == 400 and 'id="problem"' in page.text, (path, page.text)


def test_the_audit_trail_knows_a_connector_no_longer_configured(populated: Site) -> None:
    from types import SimpleNamespace

    from idsync.service.api import Query, audit_query
    from idsync.service.readmodel import BadReference

    assert populated.service is not None
    service = populated.service
    without_dir: Any = SimpleNamespace(store=service.store, config=SimpleNamespace(connectors={"hr": {}}))
    assert audit_query(Query({"connector": "dir"}), without_dir)["connector"] == "dir"  # its exports are recorded
    with pytest.raises(BadReference, match="connector: no connector named 'nope' \\(known: hr\\)"):
        audit_query(Query({"connector": "nope"}), without_dir)


def test_conflicts_are_worded_for_the_api_and_dashboard_caller(populated: Site) -> None:
    from idsync.engine.run_profiles import RUN_LOCK
    from idsync.store import open_store

    holder = "other-host:4242:1"
    store = open_store(populated.store_url, populated.root)
    with populated.client() as c, _dashboard(populated, "/objects/hr:E0003") as (browser, _, csrf):
        # a process of the command line holds the store: say which, that nothing was done, and what to do
        assert store.acquire_lock(RUN_LOCK, holder, 300)
        try:
            for message in (
                _error(c.post("/api/runs", json={"profile": "sync"}), 409),
                _error(c.post("/api/objects/hr:E0003/disconnect", json={}), 409),
            ):
                assert holder in message and "idsync run, cycle or disconnect" in message, message
                assert "nothing was done" in message and "when it has finished" in message, message
                assert "waiting" not in message and "another idsync run holds" not in message, message
        finally:
            store.release_lock(RUN_LOCK, holder)
            store.close()
        # a normal disconnect of a disconnector: how this caller asks for an explicit one
        assert c.post("/api/objects/hr:E0003/disconnect", json={}).status_code == 200
        refused = _error(c.post("/api/objects/hr:E0003/disconnect", json={}), 409)
        assert '{"explicit": true} makes it an explicit disconnector' in refused and "--explicit" not in refused
        button = browser.post(
            "/ui/objects/hr:E0003/disconnect", data={"mode": "normal"}, headers={"X-CSRF-Token": csrf}
        )
        assert button.status_code == 409 and "Disconnect as explicit disconnector" in html.unescape(button.text)
        assert "--explicit" not in button.text


def test_a_disconnect_during_the_services_own_run_names_that_run(site: Site) -> None:
    site.configure(slow=True, page_size=10, delay=0.2)
    site.people(60)
    with served(site) as s, s.client() as c:
        assert s.run("full")["status"] == "success"
        started = c.post("/api/runs", json={"profile": "hr-import"})
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        message = _error(c.post("/api/objects/hr:E0003/disconnect", json={}), 409)
        assert f"run {run_id} (hr-import) of this service holds the store" in message, message
        assert "when it has finished" in message and "another idsync" not in message, message
        assert s.service is not None and s.service.owner not in message
        assert s.service.wait_idle(30)
        assert c.post("/api/objects/hr:E0003/disconnect", json={}).status_code == 200


def test_the_login_page_says_where_the_token_comes_from(populated: Site) -> None:
    with httpx.Client(base_url=populated.url) as browser:
        page = html.unescape(browser.get("/login").text)
    assert "is the value of" not in page
    assert "${env:NAME}" in page and "${file:PATH}" in page and "service.token" in page
    assert "token.txt" not in page  # which variable or file this service reads is not shown before login


def test_a_disconnect_from_the_object_page_makes_the_page_read_the_object_again(populated: Site) -> None:
    """The page's view of the object listens for the event a successful disconnect raises, and reading it again
    gives the new link state and buttons (tests/service/test_browser.py watches Chromium do it)."""
    with _dashboard(populated, "/objects/hr:E0003") as (browser, page, csrf):
        view = re.search(r'<div id="object-view" hx-get="([^"]+)" hx-trigger="([^"]+)"', page)
        assert view is not None and view.group(2) == "object-changed from:body", page
        assert 'id="disconnect"' in page and "explicit-disconnector" not in page
        button = re.search(r'id="disconnect-explicit" hx-post="([^"]+)"', page)
        assert button is not None
        htmx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
        done = browser.post(button.group(1), data={"mode": "explicit"}, headers=htmx)
        assert done.status_code == 200 and "explicit disconnector" in done.text, done.text
        assert done.headers.get("HX-Trigger") == "object-changed"
        again = browser.get(view.group(1), headers={"HX-Request": "true"}).text
        assert 'id="make-normal"' in again and 'id="disconnect"' not in again and 'id="mv-link"' not in again
        assert "explicit-disconnector" in again
        # a refused action changes nothing: the page is not told to read the object again
        refused = browser.post(button.group(1), data={"mode": "sideways"}, headers=htmx)
        assert refused.status_code == 400 and "HX-Trigger" not in refused.headers, refused.text
